import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeDevVars } from "../dev-vars.ts";

let root: string;

function checkout(): string {
  root = mkdtempSync(join(tmpdir(), "edgebank-dev-vars-"));
  mkdirSync(join(root, "workers/accounts"), { recursive: true });
  return root;
}

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("writeDevVars", () => {
  it("writes the stack's variables beside the config and removes them when the stack stops", async () => {
    const remove = writeDevVars(checkout(), "workers/accounts/wrangler.toml", { LOG_LEVEL: "warn", A: 'x"y' });
    const path = join(root, "workers/accounts/.dev.vars");
    expect(readFileSync(path, "utf8")).toContain('LOG_LEVEL="warn"\nA="x\\"y"\n');
    await remove();
    expect(existsSync(path)).toBe(false);
  });

  it("never overwrites nor removes a .dev.vars a developer wrote", async () => {
    const path = join(checkout(), "workers/accounts/.dev.vars");
    writeFileSync(path, "MY_SECRET=1\n");
    expect(() => writeDevVars(root, "workers/accounts/wrangler.toml", { LOG_LEVEL: "warn" })).toThrow(/not written/);
    expect(readFileSync(path, "utf8")).toBe("MY_SECRET=1\n");

    rmSync(path);
    const remove = writeDevVars(root, "workers/accounts/wrangler.toml", { LOG_LEVEL: "warn" });
    writeFileSync(path, "MY_SECRET=2\n"); // replaced by hand while the stack ran
    await remove();
    expect(readFileSync(path, "utf8")).toBe("MY_SECRET=2\n");
  });
});
