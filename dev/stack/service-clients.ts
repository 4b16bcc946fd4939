import { createHash } from "node:crypto";
import postgres from "postgres";

/**
 * The machine clients internal services act as when they call each other, and the service
 * scopes each is granted. In production an operator creates them (POST /v1/auth/clients) and
 * stores each secret as the calling Worker's SERVICE_CLIENT_SECRET; locally the stack does it
 * on every start, with a fresh secret.
 */
export const serviceClients = [
  { service: "transfers", clientId: "cli_service_transfers", scopes: ["accounts:operate", "ledger:write"] },
  { service: "payments", clientId: "cli_service_payments", scopes: ["accounts:operate", "ledger:write"] },
  { service: "ledger", clientId: "cli_service_ledger", scopes: ["accounts:reconcile"] },
] as const;

/** Creates or refreshes the service clients in the auth database, with these secrets. */
export async function provisionServiceClients(authDatabaseUrl: string, secrets: Record<string, string>): Promise<void> {
  const sql = postgres(authDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    for (const client of serviceClients) {
      const secret = secrets[client.service];
      if (!secret) throw new Error(`no secret for the ${client.service} service client`);
      // Client secrets are 256-bit random values, stored as SHA-256 (as auth stores them).
      const hash = createHash("sha256").update(secret, "utf8").digest("hex");
      await sql`
        insert into auth.clients (id, name, kind, secret_params, secret_hash, scopes)
        values (${client.clientId}, ${`${client.service} service`}, 'machine', ${sql.json({ alg: "sha256" })},
                ${hash}, ${client.scopes.join(" ")})
        on conflict (id) do update
          set secret_hash = excluded.secret_hash, scopes = excluded.scopes, revoked_at = null`;
    }
  } finally {
    await sql.end();
  }
}
