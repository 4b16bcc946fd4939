import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it, onTestFinished } from "vitest";
import { unstable_readConfig } from "wrangler";
import { type CloudflareApiServer, startCloudflareApi } from "../../dev/cloudflare-api/server.ts";
import { allServices, dataServices } from "../../dev/services.ts";
import { appliedUpTo, readMigrations } from "../migrations/files.ts";
import { type DeployOptions, DeployRefused, databaseUrlVariable, deploy } from "../plan.ts";
import { type ScratchDatabases, scratchDatabases } from "./scratch.ts";

/**
 * `npm run deploy` end to end against the Cloudflare API stand-in (which wrangler and the
 * `cloudflare` client reach through CLOUDFLARE_API_BASE_URL) and scratch databases.
 */
const accountId = "0123456789abcdef0123456789abcdef";
const token = "deploy-test-token";
const repository = new URL("../../", import.meta.url);

const config = (name: string) => {
  const service = allServices.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`no service ${name}`);
  return unstable_readConfig(
    { config: new URL(service.config, repository).pathname, env: "staging" },
    { hideWarnings: true },
  );
};

/**
 * Each test's own account (a stand-in) and databases, gone when it ends; `seed` puts every Worker
 * in it as a first `wrangler deploy --secrets-file` leaves it: Durable Object migrations applied
 * (up to `migrationTag` for one), secrets set (but `withoutSecret`).
 */
async function fixture() {
  const api: CloudflareApiServer = await startCloudflareApi({ accountId, token });
  const databases: ScratchDatabases = await scratchDatabases();
  onTestFinished(async () => {
    await api.close();
    await databases.drop();
  });
  const seed = (options: { withoutSecret?: [string, string]; migrationTag?: [string, string] } = {}) => {
    for (const service of allServices) {
      const resolved = config(service.name);
      const tag =
        options.migrationTag?.[0] === service.name ? options.migrationTag[1] : resolved.migrations.at(-1)?.tag;
      api.workers.putScript(resolved.name, {
        metadata: {
          annotations: { "workers/message": "first deploy" },
          ...(tag ? { migrations: { new_tag: tag } } : {}),
        },
        modules: [],
      });
      for (const secret of resolved.secrets?.required ?? []) {
        if (options.withoutSecret?.[0] === service.name && options.withoutSecret[1] === secret) continue;
        api.workers.putSecret(resolved.name, { name: secret, text: `${secret.toLowerCase()}-value` });
      }
    }
  };
  const options = (overrides: Partial<DeployOptions> = {}): DeployOptions => ({
    environment: "staging",
    dryRun: false,
    access: { accountId, apiToken: token, baseUrl: api.apiBaseUrl },
    databaseUrls: databases.urls,
    commit: { sha: "0123456789abcdef0123456789abcdef01234567", subject: "Transfers: a faster saga" },
    confirmAtomic: async () => false,
    log: () => {},
    ...overrides,
  });
  const versionsOf = (worker: string) => api.workers.versions(worker, 1, 100);
  const nothingMigrated = async () => {
    for (const service of dataServices) {
      expect(await appliedUpTo(service.name, databases.urls[service.name] ?? "")).toBe(0);
    }
  };
  return { api, databases, seed, options, versionsOf, nothingMigrated };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe("npm run deploy", () => {
  it("refuses to start while a Worker lacks a secret, naming it, and changes nothing", async () => {
    const { seed, options, versionsOf, nothingMigrated } = await fixture();
    seed({ withoutSecret: ["auth", "SIGNING_KEY_KEK"] });
    const error = await refusal(deploy(options()));
    expect(error).toBeInstanceOf(DeployRefused);
    expect((error as DeployRefused).reasons).toEqual([
      "edgebank-auth-staging is missing the secret SIGNING_KEY_KEK " +
        "(wrangler secret put SIGNING_KEY_KEK --env staging -c workers/auth/wrangler.toml)",
    ]);
    await nothingMigrated();
    expect(versionsOf("edgebank-auth-staging")).toHaveLength(1);
  });

  it("refuses a migration that is not additive before applying any", async () => {
    const { seed, options, nothingMigrated } = await fixture();
    seed();
    const root = await mkdtemp(join(tmpdir(), "edgebank-migrations-"));
    try {
      await cp(new URL("migrations/", repository), join(root, "migrations"), { recursive: true });
      const journalFile = join(root, "migrations/transfers/meta/_journal.json");
      const journal = JSON.parse(await readFile(journalFile, "utf8")) as { entries: Record<string, unknown>[] };
      const last = (await readMigrations("transfers")).at(-1)?.when ?? 0;
      journal.entries.push({
        idx: journal.entries.length,
        version: "7",
        when: last + 1,
        tag: "9999_drop_description",
        breakpoints: true,
      });
      await writeFile(journalFile, JSON.stringify(journal));
      await writeFile(
        join(root, "migrations/transfers/9999_drop_description.sql"),
        `ALTER TABLE "transfers"."transfers" DROP COLUMN "description";`,
      );
      const error = await refusal(deploy(options({ migrationsRoot: pathToFileURL(`${root}/`) })));
      expect(error).toBeInstanceOf(DeployRefused);
      expect((error as DeployRefused).reasons).toEqual([
        expect.stringMatching(/^migration transfers\/9999_drop_description: drops what the running version/),
        expect.stringMatching(/^migration transfers\/9999_drop_description: not additive/),
      ]);
      await nothingMigrated();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("migrates first, then uploads a version of every Worker named by its commit; a second run finds nothing to do", async () => {
    const { api, databases, seed, options } = await fixture();
    seed();
    const lines: string[] = [];
    const first = await deploy(options({ log: (line) => lines.push(line) }));
    expect(first.migrated.map((entry) => entry.service).sort()).toEqual(dataServices.map((s) => s.name).sort());
    for (const service of dataServices) {
      const newest = (await readMigrations(service.name)).at(-1)?.when;
      expect(await appliedUpTo(service.name, databases.urls[service.name] ?? "")).toBe(newest);
    }
    expect(first.uploaded.map((upload) => upload.service).sort()).toEqual(allServices.map((s) => s.name).sort());
    expect(first.uploaded.every((upload) => !upload.atomic)).toBe(true);
    for (const upload of first.uploaded) {
      const version = api.workers.version(upload.worker, upload.versionId);
      expect(version.annotations["workers/message"]).toBe("0123456789ab Transfers: a faster saga");
      expect(version.annotations["workers/tag"]).toBe(upload.tag);
      // Uploaded, not deployed: the first deploy's version still serves all traffic.
      const [current] = api.workers.deployments(upload.worker).deployments;
      expect(current?.versions).toEqual([{ version_id: expect.not.stringMatching(upload.versionId), percentage: 100 }]);
      expect(version.resources.bindings).toContainEqual({
        name: "SERVICE_VERSION",
        type: "plain_text",
        text: "0123456789ab",
      });
    }
    expect(
      lines.indexOf("transfers: applied 0000_create_schema, 0001_transfers, 0002_outbox_traceparent"),
    ).toBeLessThan(lines.findIndex((line) => line.startsWith("edgebank-gateway-staging: uploaded")));

    // Once the rollout has moved traffic to the new versions, the same commit deploys nothing.
    for (const upload of first.uploaded) {
      api.workers.createDeployment(upload.worker, {
        strategy: "percentage",
        versions: [{ version_id: upload.versionId, percentage: 100 }],
      });
    }
    const second = await deploy(options());
    expect(second).toEqual({ migrated: [], uploaded: [], unchanged: first.uploaded.map((upload) => upload.worker) });
  }, 240_000);

  it("refuses while a rollout is under way", async () => {
    const { api, seed, options } = await fixture();
    seed();
    const worker = "edgebank-orders-staging";
    const [stable] = api.workers.deployments(worker).deployments[0]?.versions ?? [];
    const next = api.workers.uploadVersion(worker, { metadata: {}, modules: [] }, true);
    api.workers.createDeployment(worker, {
      strategy: "percentage",
      versions: [
        { version_id: stable?.version_id, percentage: 90 },
        { version_id: next.id, percentage: 10 },
      ],
    });
    const error = await refusal(deploy(options({ only: ["orders"] })));
    expect((error as DeployRefused).reasons).toEqual([
      expect.stringMatching(
        /^edgebank-orders-staging is in the middle of a rollout .* at 90 %, .* at 10 %\): promote or abort it first$/,
      ),
    ]);
  });

  it("deploys a version with a Durable Object class migration at once, and only when confirmed", async () => {
    const { api, seed, options } = await fixture();
    seed({ migrationTag: ["payments", "v1"] });
    const worker = "edgebank-payments-staging";
    const declined = await refusal(deploy(options({ only: ["payments"] })));
    expect((declined as DeployRefused).reasons).toEqual([
      `${worker}: its Durable Object migration was not confirmed; nothing uploaded for it`,
    ]);
    const questions: string[] = [];
    const result = await deploy(
      options({
        only: ["payments"],
        confirmAtomic: async (question) => {
          questions.push(question);
          return true;
        },
      }),
    );
    expect(questions).toEqual([
      expect.stringContaining("carries the Durable Object migration v2 (the account has v1)"),
    ]);
    expect(result.uploaded).toEqual([expect.objectContaining({ worker, atomic: true })]);
    const [current] = api.workers.deployments(worker).deployments;
    expect(current?.versions).toEqual([{ version_id: result.uploaded[0]?.versionId, percentage: 100 }]);
    expect(api.workers.service(worker).default_environment.script.migration_tag).toBe("v2");
  }, 120_000);
});

describe("the deploy command", () => {
  const run = (args: string[], env: Record<string, string | undefined>) =>
    promisify(execFile)("node", ["deploy/main.ts", ...args], {
      cwd: repository.pathname,
      env: { ...process.env, ...env },
    }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        output: error.stdout + error.stderr,
      }),
    );

  it("names what is missing before it reaches anything", async () => {
    const { code, output } = await run(["--env", "staging"], { CLOUDFLARE_ACCOUNT_ID: "", CLOUDFLARE_API_TOKEN: "" });
    expect(code).toBe(1);
    expect(output).toContain("CLOUDFLARE_ACCOUNT_ID is not set");
    expect(output).toContain("CLOUDFLARE_API_TOKEN is not set");
    expect((await run(["--env", "qa"], {})).output).toContain("--env must be one of staging, production");
  }, 30_000); // two runs of the command, ~2.5 s each on these machines

  it("plans a dry run without changing anything", async () => {
    const { api, databases, seed, versionsOf } = await fixture();
    seed();
    const urls = Object.fromEntries(dataServices.map((s) => [databaseUrlVariable(s.name), databases.urls[s.name]]));
    const { code, output } = await run(["--env", "staging", "--dry-run", "--only", "gateway,ledger"], {
      CLOUDFLARE_ACCOUNT_ID: accountId,
      CLOUDFLARE_API_TOKEN: token,
      CLOUDFLARE_API_BASE_URL: api.apiBaseUrl,
      ...urls,
    });
    expect(output).toMatch(/ledger: would apply 0000_create_schema, .*0003_reconciliations/);
    expect(output).toMatch(/edgebank-gateway-staging: would upload [0-9a-f]{16}/);
    expect(code).toBe(0);
    expect(await appliedUpTo("ledger", databases.urls.ledger ?? "")).toBe(0);
    expect(versionsOf("edgebank-gateway-staging")).toHaveLength(1);
  }, 60_000);
});
