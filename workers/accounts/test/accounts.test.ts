import { env } from "cloudflare:workers";
import { testCaller } from "@edgebank/auth/testing";
import { withDatabase } from "@edgebank/db";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { call, customer, openAccount } from "./helpers.ts";

function execute(statement: ReturnType<typeof sql>) {
  const settings = {
    driver: "hyperdrive" as const,
    connectionString: env.ACCOUNTS_DB.connectionString,
    prepare: env.DB_PREPARE === "true",
  };
  return withDatabase(settings, (db) => db.execute(statement));
}

describe("POST /v1/accounts", () => {
  it("opens an account owned by the caller, with zero balances", async () => {
    const alice = await customer();
    const response = await call("/v1/accounts", alice.token, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ currency: "EUR", name: "Everyday" }),
    });
    expect(response.status).toBe(201);
    const account = (await response.json()) as { id: string; ownerId: string; status: string; kind: string };
    expect(account).toMatchObject({
      ownerId: alice.id,
      currency: "EUR",
      name: "Everyday",
      status: "active",
      kind: "customer",
    });
    expect(account.id).toMatch(/^acc_/);
    expect(response.headers.get("location")).toBe(`/v1/accounts/${account.id}`);
    const balance = await (await call(`/v1/accounts/${account.id}/balance`, alice.token)).json();
    expect(balance).toMatchObject({
      posted: "0",
      pending: "0",
      available: "0",
      creditLimit: "0",
      formatted: { available: "0.00" },
    });
  });

  it.each([{ currency: "XYZ" }, { currency: "eur" }, { currency: 978 }, {}])(
    "refuses %j with a 400 problem",
    async (body) => {
      const alice = await customer();
      const response = await call("/v1/accounts", alice.token, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "validation_failed" });
    },
  );

  it("needs accounts:write", async () => {
    const reader = await customer("accounts:read");
    const response = await call("/v1/accounts", reader.token, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ currency: "EUR" }),
    });
    expect(response.status).toBe(403);
  });
});

describe("ownership", () => {
  it("never shows customer A's account to customer B, as if it did not exist", async () => {
    const alice = await customer();
    const bob = await customer();
    const account = await openAccount(alice.token);
    for (const path of [`/v1/accounts/${account.id}`, `/v1/accounts/${account.id}/balance`]) {
      const response = await call(path, bob.token);
      expect(response.status).toBe(404);
      const missing = await call(path.replace(account.id, "acc_01m85av1y6e8091a16m4f2wd3f"), bob.token);
      const { requestId: _, instance: __, detail: ___, ...same } = (await response.json()) as Record<string, unknown>;
      const { requestId: _a, instance: _b, detail: _c, ...absent } = (await missing.json()) as Record<string, unknown>;
      expect(same).toEqual(absent);
    }
    expect((await call(`/v1/accounts/${account.id}`, alice.token)).status).toBe(200);
  });

  it("lets operators and auditors read any account", async () => {
    const alice = await customer();
    const account = await openAccount(alice.token);
    for (const scope of ["accounts:read operator", "accounts:read auditor"]) {
      const staff = await customer(scope);
      expect((await call(`/v1/accounts/${account.id}/balance`, staff.token)).status).toBe(200);
    }
  });

  it("lists only the caller's own accounts, a page at a time", async () => {
    const alice = await customer();
    const bob = await customer();
    const mine = [
      await openAccount(alice.token, "EUR"),
      await openAccount(alice.token, "USD"),
      await openAccount(alice.token, "GBP"),
    ];
    await openAccount(bob.token);
    const first = (await (await call("/v1/accounts?limit=2", alice.token)).json()) as {
      items: Array<{ id: string }>;
      nextCursor?: string;
    };
    expect(first.items.map((a) => a.id)).toEqual(mine.slice(0, 2).map((a) => a.id));
    const second = (await (await call(`/v1/accounts?limit=2&cursor=${first.nextCursor}`, alice.token)).json()) as {
      items: Array<{ id: string }>;
      nextCursor?: string;
    };
    expect(second.items.map((a) => a.id)).toEqual([mine[2]?.id]);
    expect(second.nextCursor).toBeUndefined();
  });

  it("lists a user's accounts to operators and auditors (ownerId); a customer asking for another's is refused", async () => {
    const alice = await customer();
    const bob = await customer();
    const opened = await openAccount(alice.token, "EUR");
    for (const scope of ["accounts:read operator", "accounts:read auditor"]) {
      const staff = await testCaller(env, scope);
      const listed = await call(`/v1/accounts?ownerId=${alice.id}`, staff.token);
      expect(listed.status, scope).toBe(200);
      expect(((await listed.json()) as { items: Array<{ id: string }> }).items.map((a) => a.id)).toEqual([opened.id]);
    }
    const refused = await call(`/v1/accounts?ownerId=${alice.id}`, bob.token);
    expect(refused.status).toBe(403);
    // Naming oneself is the plain listing.
    expect((await call(`/v1/accounts?ownerId=${alice.id}`, alice.token)).status).toBe(200);
  });
});

/** The constraint a refused statement violated (postgres.js puts it on drizzle's error cause). */
async function violatedConstraint(statement: ReturnType<typeof sql>): Promise<string | undefined> {
  const error = await execute(statement).then(
    () => undefined,
    (e: unknown) => e as { cause?: { constraint_name?: string } },
  );
  return error?.cause?.constraint_name;
}

describe("the database guards the money", () => {
  it("refuses a customer balance below its available limit, whatever the code does", async () => {
    const alice = await customer();
    const account = await openAccount(alice.token);
    expect(
      await violatedConstraint(sql`update accounts.accounts set posted_balance = -1 where id = ${account.id}`),
    ).toBe("accounts_available_non_negative");
    expect(
      await violatedConstraint(sql`update accounts.accounts set pending_balance = -5 where id = ${account.id}`),
    ).toBe("accounts_pending_non_negative");
    await expect(
      execute(sql`update accounts.accounts set credit_limit = 100, posted_balance = -100 where id = ${account.id}`),
    ).resolves.toBeDefined();
  });

  it("has one external settlement account per currency, which may go negative", async () => {
    const rows = (await execute(
      sql`select currency from accounts.accounts where kind = 'system' order by currency`,
    )) as unknown as Array<{
      currency: string;
    }>;
    expect(rows.map((row) => row.currency)).toEqual(["CHF", "EUR", "GBP", "JPY", "USD"]);
    await execute(
      sql`update accounts.accounts set posted_balance = posted_balance - 1 where kind = 'system' and currency = 'EUR'`,
    );
    await execute(
      sql`update accounts.accounts set posted_balance = posted_balance + 1 where kind = 'system' and currency = 'EUR'`,
    );
  });
});
