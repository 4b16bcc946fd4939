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

  it("finds a test entry beside main's source (the gateway's root config), and gives the test builds their vars", () => {
    checkout();
    mkdirSync(join(root, "workers/gateway/test"), { recursive: true });
    writeFileSync(join(root, "workers/gateway/test/faults-entry.ts"), "export {};\n");
    writeFileSync(join(root, "wrangler.toml"), 'name = "edgebank-gateway"\nmain = "workers/gateway/src/index.ts"\n');
    writeFileSync(
      join(root, "workers/transfers/wrangler.toml"),
      'name = "edgebank-transfers"\nmain = "src/index.ts"\n\n[vars]\nLOG_LEVEL = "info"\n',
    );
    const { configs } = testBuildConfigs(root, [{ name: "gateway", config: "wrangler.toml" }, ...services], {
      EDGEBANK_BROKEN: "stale-answer",
    });
    expect(configs).toEqual([
      `.wrangler.test-build.${process.pid}.toml`,
      `workers/transfers/.wrangler.test-build.${process.pid}.toml`,
      "workers/ledger/wrangler.toml",
    ]);
    const gateway = readFileSync(join(root, configs[0] ?? ""), "utf8");
    expect(gateway).toContain('main = "workers/gateway/test/faults-entry.ts"');
    expect(gateway).toContain('[vars]\nEDGEBANK_BROKEN = "stale-answer"\n');
    const transfers = readFileSync(join(root, configs[1] ?? ""), "utf8");
    expect(transfers).toContain('[vars]\nEDGEBANK_BROKEN = "stale-answer"\nLOG_LEVEL = "info"\n');
  });

  it("refuses a config whose main it cannot find", () => {
    writeFileSync(join(checkout(), "workers/transfers/wrangler.toml"), 'name = "edgebank-transfers"\n');
    expect(() => testBuildConfigs(root, services)).toThrow(/no main/);
  });
});
