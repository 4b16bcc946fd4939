import { env } from "cloudflare:workers";
import { describeAccessTokenSecurity, serviceSecurityTarget } from "@edgebank/auth/testing";
import { call } from "./helpers.ts";

/** The attack list straight at the accounts service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "accounts service (direct)",
  serviceSecurityTarget(env, "accounts:read", (authorization) =>
    call("/v1/accounts", undefined, { headers: authorization ? { authorization } : {} }),
  ),
);
