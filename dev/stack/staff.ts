import { newId } from "@edgebank/ids";
import postgres from "postgres";
import { hashPassword } from "../../workers/auth/src/domain/passwords.ts";

/**
 * A development user written to the auth database with auth's own password hashing, or given
 * the role if the email is already registered: staff, an operator (deposits, withdrawals,
 * freezing accounts) or an auditor (the ledger's verification), and the rollout controller's
 * probe user, a customer. In production staff are appointed out of band; no route grants these
 * roles.
 */
export async function ensureStaffUser(
  authDatabaseUrl: string,
  user: { email: string; password: string; role: "operator" | "auditor" | "customer" },
): Promise<void> {
  const email = user.email.trim().toLowerCase();
  const sql = postgres(authDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [existing] = await sql<{ id: string }[]>`select id from auth.users where email = ${email}`;
    if (existing) {
      await sql`update auth.users set role = ${user.role} where id = ${existing.id}`;
      return;
    }
    const id = newId("user");
    const credential = await hashPassword(user.password);
    await sql.begin(async (tx) => {
      await tx`insert into auth.users (id, email, role) values (${id}, ${email}, ${user.role})`;
      await tx`insert into auth.password_credentials (user_id, params, salt, hash)
               values (${id}, ${tx.json(credential.params)}, ${credential.salt}, ${credential.hash})`;
    });
  } finally {
    await sql.end();
  }
}
