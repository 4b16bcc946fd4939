import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, type BrowserContext, chromium, type Page } from "@playwright/test";
import { afterAll, beforeAll, expect } from "vitest";

/** Debian's Chromium (Playwright cannot download its own browsers here); CHROMIUM_PATH overrides it. */
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where the run leaves a screenshot of each page it saw (git-ignored). */
const screenshots = fileURLToPath(new URL("../../.screenshots/", import.meta.url));

/** A page in a real browser, with what went wrong on it (script errors, 5xx answers) collected. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
  shot(name: string): Promise<void>;
}

/**
 * A Chromium for the suite it is called in (launched before, closed after); `open` gives a page
 * in a fresh context with its own client address (the credentials endpoints are limited per IP).
 */
export function useBrowser(): { open(ip: string): Promise<WatchedPage> } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install chromium`);
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
    mkdirSync(screenshots, { recursive: true });
  });
  afterAll(() => browser?.close());
  return {
    async open(ip) {
      if (!browser) throw new Error("the browser is not running");
      const context = await browser.newContext({ extraHTTPHeaders: { "cf-connecting-ip": ip } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("response", (response) => {
        if (response.status() >= 500) errors.push(`${response.status()} ${response.url()}`);
      });
      return {
        page,
        context,
        errors,
        shot: async (name) => {
          await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });
        },
      };
    },
  };
}

/** Signs in on auth's page (the app sent the browser there with PKCE) and waits to be back on `path`. */
export async function signInOnAuthPage(page: Page, email: string, password: string, path: string): Promise<void> {
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe("/v1/auth/authorize");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe(path);
}

/**
 * What axe-core (the engine behind most accessibility audits) finds against WCAG 2.1 A and AA on
 * the page as it is now: each violation with the elements it saw, empty when there is none.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return violations.map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
  );
}
