import { defineConfig, listVar } from "@edgebank/config";
import { z } from "zod";

/**
 * The auth service's own settings, beside the common service config. SIGNING_KEY_KEK is a
 * Workers secret: 32 random bytes, base64url, that encrypt the private signing keys at rest.
 */
export const authConfig = defineConfig(
  z.object({
    /** The issuer: the environment's public base URL, the base of every URL discovery names. */
    TOKEN_ISSUER: z.url().refine((url) => !url.endsWith("/"), "the issuer URL has no trailing slash"),
    TOKEN_AUDIENCE: z.string().min(1),
    /**
     * Clients allowed the password grant (comma-separated). Apps sign in with the authorization
     * code flow and PKCE; production allows the password grant to the rollout probes' client only.
     */
    PASSWORD_GRANT_CLIENTS: listVar,
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
    REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(3600).default(2_592_000),
    /** How long a key signs before the rotation cron replaces it. */
    KEY_ROTATION_INTERVAL_SECONDS: z.coerce.number().int().min(60).default(2_592_000),
    /** How long this service keeps its own JWKS for verifying tokens on its protected routes. */
    JWKS_TTL_SECONDS: z.coerce.number().int().positive().max(3600).default(60),
    SIGNING_KEY_KEK: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "32 bytes, base64url without padding"),
  }),
);

export type AuthConfig = ReturnType<typeof authConfig>;
