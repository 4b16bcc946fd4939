declare namespace Cloudflare {
  interface Env {
    CONFORMANCE_DB: Hyperdrive;
    /** The same database as CONFORMANCE_DB, addressed directly, for the Neon driver. */
    DATABASE_URL: string;
    NEON_WS_PROXY: string;
    DB_PREPARE: string;
  }
}
