-- The operator console: a public client of the authorization code flow with PKCE, receiving its
-- codes on the environment's public origin. It asks for no API scope and so receives the signed-in
-- user's role's (an operator's or an auditor's); a customer signed in there can do nothing in it.
INSERT INTO "auth"."clients" ("id", "name", "kind", "scopes", "redirect_uris")
VALUES ('edgebank-console', 'edgebank operator console', 'first_party', '', '{/console/callback}')
ON CONFLICT ("id") DO NOTHING;
