declare namespace Cloudflare {
  interface Env {
    /** Test-only: bindings to InventoryRpc as orders and a stranger (payments) bind it, and one naming no caller. */
    RPC_AS_ORDERS: Fetcher;
    RPC_AS_PAYMENTS: Fetcher;
    RPC_WITHOUT_CALLER: Fetcher;
    /** Test-only: the private JWK of the key the stand-in issuer publishes. */
    TEST_SIGNING_JWK: string;
    /** Test-only: the private JWK of a key the stand-in issuer does not publish. */
    TEST_RETIRED_JWK: string;
    /** Test-only: the merchant the payments stand-in says every caller owns. */
    TEST_MERCHANT_ID: string;
  }
}
