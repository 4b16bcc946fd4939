import { describe, expect, it } from "vitest";
import { accessibilityViolations, useBrowser } from "./browser.ts";
import { type DevStack, gatewayRequest, register, session } from "./dev-stack.ts";

/** The shop a customer pays and orders from: a merchant, its account and a product in stock. */
async function openShop(base: string) {
  const owner = await session(
    base,
    `shop.${Date.now()}@example.test`,
    "a merchant's passphrase",
    "192.0.2.74",
    "merchant",
  );
  const post = async (path: string, body: unknown, key = true) => {
    const response = await gatewayRequest(base, path, owner, {
      method: "POST",
      ...(key ? { key: crypto.randomUUID() } : {}),
      body: JSON.stringify(body),
    });
    expect(response.status, path).toBe(201);
    return (await response.json()) as { id: string };
  };
  const account = await post("/v1/accounts", { currency: "EUR" });
  const merchant = await post("/v1/merchants", { name: "Corner Books", accountId: account.id }, false);
  const sku = `WEB-BOOK-${Date.now()}`;
  await post("/v1/products", { sku, name: "A paperback", price: "850", merchantId: merchant.id, stock: 5 }, false);
  return { merchantId: merchant.id, sku };
}

/**
 * The customer web app in a real browser, through the gateway as a customer meets it: sign-in
 * with PKCE on auth's page, accounts opened from the app, a refused transfer and its reason, a
 * deposit arriving, a transfer sent and its notification arriving live, the statement, a
 * merchant paid, an order followed to its confirmation without reloading.
 */
export function describeWebApp(stack: () => DevStack): void {
  const browser = useBrowser();

  describe("the customer web app", () => {
    it("signs a customer in with PKCE, moves money, pays, orders, and shows what happens live", async () => {
      const base = stack().url;
      const email = `web.${Date.now()}@example.test`;
      const password = "a passphrase typed in a browser";
      expect((await register(base, email, password, "192.0.2.71")).status).toBe(201);
      const shop = await openShop(base);

      const { page, context, errors, shot } = await browser.open("192.0.2.72");
      // Each page seen is photographed and audited for accessibility (WCAG 2.1 AA, axe-core).
      const audits: Record<string, string[]> = {};
      const look = async (name: string) => {
        await shot(name);
        audits[name] = await accessibilityViolations(page);
      };
      const served = await fetch(`${base}/app/`);
      expect(served.headers.get("content-security-policy")).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
          "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      );
      await page.goto(`${base}/app/`);
      await look("app-welcome");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe("/v1/auth/authorize");
      await look("sign-in");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();

      await page.getByRole("heading", { name: "Accounts", exact: true }).waitFor();
      expect(new URL(page.url()).pathname).toBe("/app/");
      await expect
        .poll(() => page.getByRole("navigation", { name: "Account" }).textContent(), { timeout: 15_000 })
        .toContain(email);
      // The live stream is open (WebSocket through the gateway, ticket from the API).
      await expect.poll(() => page.locator("#stream-state").textContent(), { timeout: 15_000 }).toBe("Live");
      await page.getByRole("button", { name: "Open a EUR account" }).click();
      await page.locator("tbody tr").nth(0).waitFor();
      await page.getByRole("button", { name: "Open a EUR account" }).click();
      await page.locator("tbody tr").nth(1).waitFor();
      const ids = await page.locator("tbody code").allTextContents();
      expect(ids).toHaveLength(2);
      const [from = "", to = ""] = ids;

      // Nothing on the account yet: the refusal and its reason, announced.
      await page.getByLabel("From").selectOption(from);
      await page.getByLabel("To account").fill(to);
      await page.getByLabel("Amount (EUR)").fill("12.50");
      await page.getByLabel("Description").fill("first try");
      await page.getByRole("button", { name: "Send" }).click();
      await expect
        .poll(() => page.getByRole("alert").textContent(), { timeout: 15_000 })
        .toMatch(/Refused: .*insufficient_funds/);
      await look("transfer-refused");

      // An operator deposits 100.00: its notification arrives and the balance shows it, without a reload.
      const operator = await session(base, stack().operator.email, stack().operator.password, "192.0.2.73");
      const deposit = await gatewayRequest(base, "/v1/transfers/deposits", operator, {
        method: "POST",
        key: crypto.randomUUID(),
        body: JSON.stringify({ accountId: from, amount: "10000", currency: "EUR", description: "cash in" }),
      });
      expect(deposit.status).toBe(201);
      await expect
        .poll(() => page.locator("#notification-list").textContent(), { timeout: 20_000 })
        .toContain("Money received");
      // Announced to assistive technology as it arrives (a live region).
      expect(await page.locator("#notification-news").getAttribute("role")).toBe("status");
      expect(await page.locator("#notification-news").textContent()).toMatch(/^New: /);
      await expect
        .poll(() => page.locator("tbody tr", { hasText: from }).textContent(), { timeout: 15_000 })
        .toContain("100.00");
      await page.getByLabel("From").selectOption(from);
      await page.getByLabel("To account").fill(to);
      await page.getByLabel("Amount (EUR)").fill("12.50");
      await page.getByLabel("Description").fill("rent");
      await page.getByRole("button", { name: "Send" }).click();
      await expect
        .poll(() => page.locator("#transfer-outcome").textContent(), { timeout: 15_000 })
        .toMatch(/^Transfer trf_\w+: completed\.$/);
      await expect
        .poll(() => page.locator("tbody tr", { hasText: from }).textContent(), { timeout: 15_000 })
        .toContain("87.50");
      await expect
        .poll(() => page.locator("tbody tr", { hasText: to }).textContent(), { timeout: 15_000 })
        .toContain("12.50");
      // Its notification arrives without a reload, announced.
      await expect
        .poll(() => page.locator("#notification-list").textContent(), { timeout: 20_000 })
        .toContain("Transfer completed");
      await look("transfer-sent");

      // Keyboard: the form is reachable in order, every field labelled.
      await page.getByLabel("From").focus();
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.id")).toBe("to");

      // The statement of the paying account: the deposit in, the transfer out.
      await page.getByRole("link", { name: `Statement of ${from}` }).click();
      await page.getByRole("heading", { name: /^Statement of/ }).waitFor();
      await expect.poll(() => page.locator("#available").textContent(), { timeout: 15_000 }).toBe("87.50");
      const statement = await page.locator("tbody").textContent();
      expect(statement).toContain("Money in");
      expect(statement).toContain("100.00 EUR");
      expect(statement).toMatch(/-12\.50 EUR/);
      await look("statement");

      // A merchant paid: the outcome, then its notification.
      await page.getByRole("link", { name: "Pay" }).click();
      await page.getByRole("heading", { name: "Pay", exact: true }).waitFor();
      await page.getByLabel("Merchant", { exact: true }).fill(shop.merchantId);
      await page.getByLabel("From").selectOption(from);
      await page.getByLabel("Amount (EUR)").fill("5");
      await page.getByLabel("Reference", { exact: true }).fill("invoice 42");
      await page.getByRole("button", { name: "Pay", exact: true }).click();
      await expect
        .poll(() => page.locator("#payment-outcome").textContent(), { timeout: 15_000 })
        .toMatch(/^Payment pay_\w+ to Corner Books: completed\.$/);
      await expect
        .poll(() => page.locator("#notification-list").textContent(), { timeout: 20_000 })
        .toContain("Payment completed");
      await look("payment");

      // An order, followed from pending to confirmed without a reload.
      await page.getByRole("link", { name: "Shop" }).click();
      await page.getByRole("heading", { name: "Shop", exact: true }).waitFor();
      await page.getByLabel("Product", { exact: true }).selectOption(shop.sku);
      await page.getByLabel("Quantity", { exact: true }).fill("2");
      await page.getByLabel("Pay from", { exact: true }).selectOption(from);
      await page.getByRole("button", { name: "Order", exact: true }).click();
      await expect
        .poll(() => page.locator("#order-outcome").textContent(), { timeout: 15_000 })
        .toMatch(/^Order ord_\w+: pending/);
      const orderId = /ord_\w+/.exec((await page.locator("#order-outcome").textContent()) ?? "")?.[0] ?? "";
      await expect
        .poll(() => page.locator("tbody tr", { hasText: orderId }).textContent(), { timeout: 30_000 })
        .toContain("confirmed");
      expect(await page.locator("#notification-list").textContent()).toContain("Order confirmed");
      await look("order-confirmed");

      expect(errors).toEqual([]);
      expect(Object.entries(audits).filter(([, found]) => found.length > 0)).toEqual([]);
      await context.close();
    }, 120_000);
  });

  describe("the API reference", () => {
    it("renders the gateway's document at /docs with nothing from elsewhere and no policy violation", async () => {
      const base = stack().url;
      const { page, context, errors, shot } = await browser.open("192.0.2.75");
      const refused: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text());
      });
      const elsewhere: string[] = [];
      page.on("request", (request) => {
        if (new URL(request.url()).origin !== base) elsewhere.push(request.url());
      });
      await page.goto(`${base}/docs/`);
      await page.getByRole("heading", { name: "edgebank API" }).waitFor();
      // Every service's operations are there, grouped by tag: open the transfers.
      await page.getByRole("button", { name: "Open Group - transfers" }).click();
      await page.getByText("Move money from one of the caller's accounts to another account").first().waitFor();
      await shot("docs");
      expect(refused).toEqual([]);
      expect(elsewhere).toEqual([]);
      expect(errors).toEqual([]);
      await context.close();
    }, 60_000);
  });
}
