import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "@playwright/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevStack, gatewayRequest, session } from "./dev-stack.ts";

/** Debian's Chromium (Playwright cannot download its own browsers here); CHROMIUM_PATH overrides it. */
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where the run leaves a screenshot of each page it saw (git-ignored). */
const screenshots = fileURLToPath(new URL("../../.screenshots/", import.meta.url));

/**
 * The customer web app in a real browser, through the gateway as a customer meets it: sign-in
 * with PKCE on auth's page, accounts opened from the app, a refused transfer and its reason, a
 * deposit arriving, a transfer sent.
 */
export function describeWebApp(stack: () => DevStack): void {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install chromium`);
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
    mkdirSync(screenshots, { recursive: true });
  });
  afterAll(() => browser?.close());

  const shot = (page: Page, name: string) => page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });

  describe("the customer web app", () => {
    it("signs a customer in with PKCE, opens accounts, shows a refusal's reason, and sends a transfer", async () => {
      const base = stack().url;
      const email = `web.${Date.now()}@example.test`;
      const password = "a passphrase typed in a browser";
      const registered = await fetch(`${base}/v1/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": "192.0.2.71" },
        body: JSON.stringify({ email, password }),
      });
      expect(registered.status).toBe(201);

      // Its own client address: the credentials endpoints are limited per client IP.
      const context = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": "192.0.2.72" } });
      const page = await context.newPage();
      // No script error and no server error on the way (a refused transfer's 422 is an answer).
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("response", (response) => {
        if (response.status() >= 500) errors.push(`${response.status()} ${response.url()}`);
      });

      const served = await fetch(`${base}/app/`);
      expect(served.headers.get("content-security-policy")).toBe(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
          "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      );
      await page.goto(`${base}/app/`);
      await shot(page, "app-welcome");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe("/v1/auth/authorize");
      await shot(page, "sign-in");
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();

      await page.getByRole("heading", { name: "Accounts", exact: true }).waitFor();
      expect(new URL(page.url()).pathname).toBe("/app/");
      await expect
        .poll(() => page.getByRole("navigation", { name: "Account" }).textContent(), { timeout: 15_000 })
        .toContain(email);
      await page.getByRole("button", { name: "Open a EUR account" }).click();
      await page.getByRole("row").nth(1).waitFor();
      await page.getByRole("button", { name: "Open a EUR account" }).click();
      await page.getByRole("row").nth(2).waitFor();
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
      await shot(page, "transfer-refused");

      // An operator deposits 100.00; after a reload the balance shows it and the transfer goes through.
      const operator = await session(base, stack().operator.email, stack().operator.password, "192.0.2.73");
      const deposit = await gatewayRequest(base, "/v1/transfers/deposits", operator, {
        method: "POST",
        key: crypto.randomUUID(),
        body: JSON.stringify({ accountId: from, amount: "10000", currency: "EUR", description: "cash in" }),
      });
      expect(deposit.status).toBe(201);
      await page.reload();
      await page.getByRole("heading", { name: "Accounts", exact: true }).waitFor();
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
      await shot(page, "transfer-sent");

      // Keyboard: the form is reachable in order, every field labelled.
      await page.getByLabel("From").focus();
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement.id")).toBe("to");
      expect(errors).toEqual([]);
      await context.close();
    }, 60_000);
  });
}
