import { env, exports } from "cloudflare:workers";
import { describeAccessTokenSecurity, serviceSecurityTarget } from "@edgebank/auth/testing";

/** The attack list straight at the ledger service: it verifies tokens itself. */
describeAccessTokenSecurity(
  "ledger service (direct)",
  serviceSecurityTarget(env, "auditor", (authorization) =>
    exports.default.fetch(
      new Request("https://ledger.internal/v1/ledger/verify", { headers: authorization ? { authorization } : {} }),
    ),
  ),
);
