import { withErrorReporting } from "@edgebank/http";
import { registerAdmin } from "./routes/admin.ts";
import { registerAuthorize } from "./routes/authorize.ts";
import { registerRegistration } from "./routes/register.ts";
import { registerRevocation } from "./routes/revoke.ts";
import { registerToken } from "./routes/token.ts";
import { registerUserInfo } from "./routes/userinfo.ts";
import { registerWellKnown } from "./routes/well-known.ts";
import { scheduled } from "./scheduled.ts";
import { app } from "./service.ts";

/**
 * The auth service: an OAuth 2.0 / OpenID Connect issuer. Users and their passwords, public
 * and machine clients, sign-in by authorization code with PKCE, ES256 access and ID tokens,
 * rotating refresh tokens, signing-key rotation, the JWKS and discovery documents.
 */
registerWellKnown(app);
registerRegistration(app);
registerAuthorize(app);
registerToken(app);
registerRevocation(app);
registerUserInfo(app);
registerAdmin(app);

export default withErrorReporting("auth", { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>);
