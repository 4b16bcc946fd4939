import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runQuery } from "../../dev/cloudflare-api/analytics-sql.ts";
import { alerts, metrics } from "../definitions.ts";
import { outputs, rulesTestYaml, rulesYaml } from "../generate.ts";

const root = new URL("../../", import.meta.url).pathname;

/** promtool (Debian's prometheus package; .ci/run installs it) on files in a scratch folder. */
function promtool(files: Record<string, string>, ...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "edgebank-rules-"));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  const result = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("the generated alert rules", () => {
  it("are what the definitions generate (npm run observability was run)", () => {
    for (const [path, render] of Object.entries(outputs))
      expect(readFileSync(join(root, path), "utf8"), path).toBe(render());
  });

  it("pass promtool check and every alert's unit tests", () => {
    const checked = promtool({ "edgebank.rules.yml": rulesYaml() }, "check", "rules", "edgebank.rules.yml");
    expect(checked.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    const tested = promtool(
      { "edgebank.rules.yml": rulesYaml(), "edgebank.rules.test.yml": rulesTestYaml() },
      "test",
      "rules",
      "edgebank.rules.test.yml",
    );
    expect(tested.status, tested.output).toBe(0);
  });

  it("fail promtool when a rule is broken or an alert stops firing when it should", () => {
    const broken = rulesYaml().replace("> 60", "> > 60");
    expect(promtool({ "edgebank.rules.yml": broken }, "check", "rules", "edgebank.rules.yml").status).not.toBe(0);
    const blind = rulesYaml().replace(
      "edgebank_outbox_oldest_age_seconds) > 60",
      "edgebank_outbox_oldest_age_seconds) > 6000",
    );
    expect(blind).not.toBe(rulesYaml());
    const tested = promtool(
      { "edgebank.rules.yml": blind, "edgebank.rules.test.yml": rulesTestYaml() },
      "test",
      "rules",
      "edgebank.rules.test.yml",
    );
    expect(tested.status).not.toBe(0);
    expect(tested.output).toContain("EdgebankOutboxStale");
  });

  it("each have a test that fires, and a section in the runbook", () => {
    const runbook = readFileSync(join(root, "docs/runbook.md"), "utf8");
    for (const alert of alerts) {
      expect(
        alert.tests.some((test) => test.firing.length > 0),
        alert.name,
      ).toBe(true);
      expect(runbook, alert.runbook).toMatch(
        new RegExp(`^## .*\\{#${alert.runbook}\\}|<a id="${alert.runbook}"></a>`, "m"),
      );
      expect(runbook).toContain(alert.name);
    }
  });
});

describe("the metric definitions", () => {
  it("derive every Prometheus series with SQL the Analytics Engine SQL API answers", () => {
    const now = Date.now();
    const points = metrics.map((metric) => ({
      dataset: "edgebank_metrics",
      timestamp: now,
      index1: metric.name,
      blobs: ["svc", "v1", ...metric.labels.map((label) => `${label}-value`)],
      doubles: metric.doubles.map((_, i) => i + 1),
    }));
    for (const metric of metrics) {
      for (const series of metric.prometheus) {
        const result = runQuery(series.sql, points);
        expect(result.data.length, series.name).toBe(1);
        const { value, service, version, ...labels } = result.data[0] ?? {};
        expect([service, version], series.name).toEqual(["svc", "v1"]);
        expect(Number.isFinite(Number(value)), series.name).toBe(true);
        for (const [label, got] of Object.entries(labels))
          expect(got, `${series.name} ${label}`).toBe(`${label}-value`);
      }
    }
  });
});
