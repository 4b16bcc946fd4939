declare namespace Cloudflare {
  interface Env {
    /** Test-only: sets how the fake services behave (see fake-services.ts). */
    CONTROL: Fetcher;
    /** The monitor's credential for GET /health/all, as the tests configure it. */
    HEALTH_PROBE_TOKEN: string;
  }
}
