declare namespace Cloudflare {
  interface Env {
    /** Test-only: bindings to LedgerRpc as transfers, delivery and a stranger bind it, and one naming no caller. */
    RPC_AS_TRANSFERS: Fetcher;
    RPC_AS_DELIVERY: Fetcher;
    RPC_AS_LEDGER: Fetcher;
    RPC_WITHOUT_CALLER: Fetcher;
    /** Test-only: the private JWK of the key the stand-in issuer publishes. */
    TEST_SIGNING_JWK: string;
    /** Test-only: the private JWK of a key the stand-in issuer does not publish. */
    TEST_RETIRED_JWK: string;
  }
}
