-- The first-party web and mobile app: a public OAuth client (no secret) that may use the
-- password and refresh_token grants. Machine clients are created through the API.
INSERT INTO "auth"."clients" ("id", "name", "kind", "scopes")
VALUES ('edgebank-app', 'edgebank web and mobile app', 'first_party', '')
ON CONFLICT ("id") DO NOTHING;
