declare namespace Cloudflare {
  interface Env {
    /** Test-only: sets how the fake services behave (see fake-services.ts). */
    CONTROL: Fetcher;
  }
}
