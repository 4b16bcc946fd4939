declare namespace Cloudflare {
  interface Env {
    /** Test-only: the private JWK of the key the stand-in issuer publishes. */
    TEST_SIGNING_JWK: string;
    /** Test-only: the private JWK of a key the stand-in issuer does not publish. */
    TEST_RETIRED_JWK: string;
  }
}
