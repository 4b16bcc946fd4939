import { toCloudEvent } from "@edgebank/events";
import { newId, newUuidV7 } from "@edgebank/ids";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { accessibilityViolations, signInOnAuthPage, useBrowser } from "./browser.ts";
import { type DevStack, gatewayRequest, session } from "./dev-stack.ts";

export interface ConsoleSetting {
  stack: DevStack;
  /** A service's database on the stack's PostgreSQL server. */
  databaseUrl(service: string): string;
}

/**
 * The operator console in a real browser, through the gateway: an operator signs in with PKCE,
 * retries a transfer whose saga stopped for a person (the stack's test builds refuse a step on
 * request), redrives a dead letter, and freezes and unfreezes an account; each action is
 * confirmed first with its figures, and recorded with who did it.
 */
export function describeConsole(setting: () => ConsoleSetting): void {
  const browser = useBrowser();

  describe("the operator console", () => {
    it("lets an operator retry a stuck transfer, redrive a dead letter and freeze an account", async () => {
      const { stack, databaseUrl } = setting();
      const base = stack.url;
      const operator = await session(base, stack.operator.email, stack.operator.password, "192.0.2.80");
      const customer = await session(
        base,
        `console.${Date.now()}@example.test`,
        "a customer's passphrase",
        "192.0.2.81",
      );
      const api = (path: string, token: string, init: Parameters<typeof gatewayRequest>[3] = {}) =>
        gatewayRequest(base, path, token, init);
      const openAccount = async (owner = customer) =>
        (
          (await (
            await api("/v1/accounts", owner, {
              method: "POST",
              key: crypto.randomUUID(),
              body: '{"currency":"EUR"}',
            })
          ).json()) as { id: string }
        ).id;
      const [from, to] = [await openAccount(), await openAccount()];
      const deposit = await api("/v1/transfers/deposits", operator, {
        method: "POST",
        key: crypto.randomUUID(),
        body: JSON.stringify({ accountId: from, amount: "5000", currency: "EUR", description: "cash in" }),
      });
      expect(deposit.status).toBe(201);
      // A transfer whose saga stops before its ledger record (the test build refuses the step once).
      const sent = await api("/v1/transfers", customer, {
        method: "POST",
        key: crypto.randomUUID(),
        headers: { "x-test-refuse-at": "record" },
        body: JSON.stringify({
          fromAccountId: from,
          toAccountId: to,
          amount: "1234",
          currency: "EUR",
          description: "stuck",
        }),
      });
      const transferId = ((await sent.json()) as { id: string }).id;
      await expect
        .poll(
          async () =>
            ((await (await api(`/v1/transfers/${transferId}`, customer)).json()) as { status: string }).status,
          {
            timeout: 30_000,
          },
        )
        .toBe("NEEDS_ATTENTION");

      // A payment whose ledger entry was refused: it waits for an operator too.
      const shop = await session(
        base,
        `console.shop.${Date.now()}@example.test`,
        "a merchant's passphrase",
        "192.0.2.83",
        "merchant",
      );
      const shopAccount = await openAccount(shop);
      const merchant = (await (
        await api("/v1/merchants", shop, {
          method: "POST",
          body: JSON.stringify({ name: "Console Shop", accountId: shopAccount }),
        })
      ).json()) as { id: string };
      const paid = await api("/v1/payments", customer, {
        method: "POST",
        key: crypto.randomUUID(),
        headers: { "x-test-refuse-at": "record" },
        body: JSON.stringify({
          fromAccountId: from,
          merchantId: merchant.id,
          amount: "300",
          currency: "EUR",
          reference: "stuck",
        }),
      });
      const paymentId = ((await paid.json()) as { id: string }).id;
      await expect
        .poll(
          async () => ((await (await api(`/v1/payments/${paymentId}`, customer)).json()) as { status: string }).status,
          {
            timeout: 30_000,
          },
        )
        .toBe("NEEDS_ATTENTION");

      // A dead letter as the notifications consumer leaves one when its handler keeps failing:
      // the customer's TransferCompleted of another transfer, which redriving applies once.
      const me = (await (await api("/v1/auth/userinfo", customer)).json()) as { sub: string };
      const lost = newId("transfer");
      const event = toCloudEvent({
        id: newUuidV7(),
        aggregateId: lost,
        type: "TransferCompleted",
        createdAt: new Date(),
        payload: {
          transferId: lost,
          fromAccountId: from,
          toAccountId: to,
          amount: "700",
          currency: "EUR",
          status: "COMPLETED",
          kind: "transfer",
          requestedBy: me.sub,
        },
      });
      const letterId = newId("deadLetter");
      const notifications = postgres(databaseUrl("notifications"), { max: 1 });
      try {
        await notifications`insert into notifications.dead_letters
          (id, consumer, topic, partition, "offset", event_id, type, key, value, error, attempts)
          values (${letterId}, 'notifications', 'edgebank.transfers', 0, ${Date.now()}, ${event.id}, ${event.type},
                  ${notifications.json(event.subject ?? "")}, ${notifications.json(event as never)}, 'handler bug (fixed since)', 5)`;
      } finally {
        await notifications.end();
      }

      const { page, context, errors, shot } = await browser.open("192.0.2.82");
      // Each page seen is photographed and audited for accessibility (WCAG 2.1 AA, axe-core).
      const audits: Record<string, string[]> = {};
      const look = async (name: string) => {
        await shot(name);
        audits[name] = await accessibilityViolations(page);
      };
      await page.goto(`${base}/console/`);
      await signInOnAuthPage(page, stack.operator.email, stack.operator.password, "/console/");
      await page.getByRole("heading", { name: "Needs attention" }).waitFor();
      expect(await page.getByRole("navigation", { name: "Sections" }).textContent()).toBe(
        "Needs attentionEventsAccountsRollouts",
      );

      // Retry: the confirmation shows the figures; Cancel changes nothing, the second time goes through.
      await page.getByRole("button", { name: `Retry transfer ${transferId}` }).click();
      const dialog = page.getByRole("dialog", { name: "Retry this transfer?" });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain("12.34 EUR");
      expect(await dialog.textContent()).toContain("record_refused: injected");
      await look("console-confirm-retry");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      expect(((await (await api(`/v1/transfers/${transferId}`, customer)).json()) as { status: string }).status).toBe(
        "NEEDS_ATTENTION",
      );
      await page.getByRole("button", { name: `Retry transfer ${transferId}` }).click();
      await dialog.getByRole("button", { name: "Retry the saga" }).click();
      await expect
        .poll(() => page.locator("#attention-outcome").textContent(), { timeout: 15_000 })
        .toBe(`Transfer ${transferId} retried: completed.`);
      expect(await page.getByRole("button", { name: `Retry transfer ${transferId}` }).count()).toBe(0);

      // The payment: its merchant has the money, so compensating is refused with why; retrying finishes it.
      await page.getByRole("button", { name: `Compensate payment ${paymentId}` }).click();
      await page
        .getByRole("dialog", { name: "Undo this payment?" })
        .getByRole("button", { name: "Compensate and end it" })
        .click();
      await expect.poll(() => page.getByRole("alert").textContent(), { timeout: 15_000 }).toMatch(/^Refused: .*refund/);
      await page.getByRole("button", { name: `Retry payment ${paymentId}` }).click();
      await page
        .getByRole("dialog", { name: "Retry this payment?" })
        .getByRole("button", { name: "Retry the payment" })
        .click();
      await expect
        .poll(() => page.locator("#attention-outcome").textContent(), { timeout: 15_000 })
        .toBe(`Payment ${paymentId} retried: completed.`);

      // Redrive the dead letter.
      await page.getByRole("link", { name: "Events" }).click();
      await page.getByRole("heading", { name: "Dead letters" }).waitFor();
      await page.getByRole("button", { name: `Redrive dead letter ${letterId}` }).click();
      const redrive = page.getByRole("dialog", { name: "Apply this event again?" });
      expect(await redrive.textContent()).toContain("handler bug (fixed since)");
      await redrive.getByRole("button", { name: "Redrive once" }).click();
      await expect
        .poll(() => page.locator("#events-outcome").textContent(), { timeout: 15_000 })
        .toBe(`Dead letter ${letterId}: applied.`);
      await look("console-events");
      const inbox = (await (await api("/v1/notifications", customer)).json()) as { items: Array<{ eventId: string }> };
      expect(inbox.items.filter((item) => item.eventId === event.id)).toHaveLength(1);

      // Freeze the customer's account, then unfreeze it.
      await page.getByRole("link", { name: "Accounts" }).click();
      // Found by its owner's id, then opened.
      await page.getByLabel("Account or user id").fill(me.sub);
      await page.getByRole("button", { name: "Find" }).click();
      await page.getByRole("link", { name: from }).click();
      await page.getByRole("button", { name: `Freeze account ${from}` }).click();
      await page.getByRole("dialog", { name: "Freeze this account?" }).getByRole("button", { name: "Freeze" }).click();
      await expect
        .poll(() => page.locator("#account-outcome").textContent(), { timeout: 15_000 })
        .toBe(`Account ${from}: frozen.`);
      expect(((await (await api(`/v1/accounts/${from}`, customer)).json()) as { status: string }).status).toBe(
        "frozen",
      );
      await look("console-account");
      await page.getByRole("button", { name: `Unfreeze account ${from}` }).click();
      await page
        .getByRole("dialog", { name: "Unfreeze this account?" })
        .getByRole("button", { name: "Unfreeze" })
        .click();
      await expect
        .poll(() => page.locator("#account-outcome").textContent(), { timeout: 15_000 })
        .toBe(`Account ${from}: unfrozen.`);

      // Who did it: the retry is recorded with the operator's id.
      const operatorId = ((await (await api("/v1/auth/userinfo", operator)).json()) as { sub: string }).sub;
      const transfers = postgres(databaseUrl("transfers"), { max: 1 });
      try {
        const actions = await transfers<{ actor: string; action: string }[]>`
          select actor, action from transfers.transfer_actions where transfer_id = ${transferId}`;
        expect(actions).toEqual([{ actor: operatorId, action: "retry" }]);
      } finally {
        await transfers.end();
      }
      expect(errors).toEqual([]);
      expect(Object.entries(audits).filter(([, found]) => found.length > 0)).toEqual([]);
      await context.close();
    }, 120_000);
  });
}
