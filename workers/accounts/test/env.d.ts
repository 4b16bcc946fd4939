declare namespace Cloudflare {
  interface Env {
    /** Test-only: the private JWK of the key the stand-in issuer publishes. */
    TEST_SIGNING_JWK: string;
    /** Test-only: the private JWK of a key the stand-in issuer does not publish. */
    TEST_RETIRED_JWK: string;
    /** Test-only: the Kafka REST broker of the test setup. */
    KAFKA_REST_URL: string;
    /** Test-only: bindings to AccountsRpc as transfers, payments and the ledger bind it, and one naming no caller. */
    RPC_AS_TRANSFERS: Fetcher;
    RPC_AS_PAYMENTS: Fetcher;
    RPC_AS_LEDGER: Fetcher;
    RPC_WITHOUT_CALLER: Fetcher;
  }
}
