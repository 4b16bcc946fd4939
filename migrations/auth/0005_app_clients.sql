-- Public clients of the authorization code flow with PKCE. The web app receives its codes on
-- the environment's public origin; the mobile app on its own URI scheme, or on a loopback
-- address while it is developed (any port, RFC 8252 §7.3). The rollout controller's probes
-- sign in with a client of their own: the only one the production configuration allows the
-- password grant.
UPDATE "auth"."clients" SET "name" = 'edgebank web app', "redirect_uris" = '{/app/callback}'
WHERE "id" = 'edgebank-app';
--> statement-breakpoint
INSERT INTO "auth"."clients" ("id", "name", "kind", "scopes", "redirect_uris")
VALUES
  ('edgebank-mobile', 'edgebank mobile app', 'first_party', '', '{dev.edgebank.app:/oauth/callback,http://127.0.0.1/oauth/callback}'),
  ('edgebank-probe', 'rollout probes', 'first_party', '', '{}')
ON CONFLICT ("id") DO NOTHING;
