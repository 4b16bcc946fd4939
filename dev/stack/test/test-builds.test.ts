import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { testBuildConfigs } from "../test-builds.ts";

let root: string;

afterEach(() => rmSync(root, { recursive: true, force: true }));

function checkout(): string {
  root = mkdtempSync(join(tmpdir(), "edgebank-test-builds-"));
  for (const name of ["transfers", "ledger"]) {
    mkdirSync(join(root, `workers/${name}/test`), { recursive: true });
    writeFileSync(join(root, `workers/${name}/wrangler.toml`), `name = "edgebank-${name}"\nmain = "src/index.ts"\n`);
  }
  writeFileSync(join(root, "workers/transfers/test/faults-entry.ts"), "export {};\n");
  return root;
}

const services = [
  { name: "transfers", config: "workers/transfers/wrangler.toml" },
  { name: "ledger", config: "workers/ledger/wrangler.toml" },
];

describe("testBuildConfigs", () => {
  it("runs a Worker with a test entry from a copy of its config beside it, and removes the copy", async () => {
    const { configs, remove } = testBuildConfigs(checkout(), services);
    expect(configs).toEqual([
      `workers/transfers/.wrangler.test-build.${process.pid}.toml`,
      "workers/ledger/wrangler.toml",
    ]);
    const copy = readFileSync(join(root, configs[0] ?? ""), "utf8");
    expect(copy).toContain('name = "edgebank-transfers"\nmain = "test/faults-entry.ts"\n');
    expect(copy).not.toContain("src/index.ts");
    // The original is untouched.
    expect(readFileSync(join(root, "workers/transfers/wrangler.toml"), "utf8")).toContain('main = "src/index.ts"');
    await remove();
    expect(existsSync(join(root, configs[0] ?? ""))).toBe(false);
  });

  it("refuses a config whose main it cannot find", () => {
    writeFileSync(join(checkout(), "workers/transfers/wrangler.toml"), 'name = "edgebank-transfers"\n');
    expect(() => testBuildConfigs(root, services)).toThrow(/no main/);
  });
});
