import { withErrorReporting } from "@edgebank/http";
import { registerAdmin } from "./routes/admin.ts";
import { registerRegistration } from "./routes/register.ts";
import { registerRevocation } from "./routes/revoke.ts";
import { registerToken } from "./routes/token.ts";
import { registerUserInfo } from "./routes/userinfo.ts";
import { registerWellKnown } from "./routes/well-known.ts";
import { scheduled } from "./scheduled.ts";
import { app } from "./service.ts";

/**
 * The auth service: an OAuth 2.0 / OIDC-style issuer. Users and their passwords, first-party
 * and machine clients, ES256 access tokens, rotating refresh tokens, signing-key rotation,
 * the JWKS and discovery documents.
 */
registerWellKnown(app);
registerRegistration(app);
registerToken(app);
registerRevocation(app);
registerUserInfo(app);
registerAdmin(app);

export default withErrorReporting("auth", { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>);
