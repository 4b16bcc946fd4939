/**
 * npm run deploy -- --env staging|production [--dry-run] [--yes] [--only gateway,transfers]
 *
 * Checks the configuration and every Worker's secrets, applies the services' migrations (only
 * additive ones; docs/migrations.md), then uploads a new version of every Worker whose bundle
 * changed, each named by the commit it was built from. Needs CLOUDFLARE_ACCOUNT_ID,
 * CLOUDFLARE_API_TOKEN (CLOUDFLARE_API_BASE_URL for another API than Cloudflare's) and
 * <SERVICE>_DATABASE_URL for each service's database. --yes confirms, without asking, a version
 * with Durable Object class migrations (which goes to 100 % of traffic at once). With
 * EDGEBANK_API_URL and EDGEBANK_OPERATOR_TOKEN, each uploaded version is handed to the rollout
 * controller; without, the deploy prints the `npm run release` command of each.
 */
import { execFileSync } from "node:child_process";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { dataServices } from "../dev/services.ts";
import { type EnvironmentName, environmentNames, readEnvironments } from "./config/environments.ts";
import { DeployRefused, databaseUrlVariable, deploy } from "./plan.ts";
import { startRollout } from "./release.ts";

const { values } = parseArgs({
  options: {
    env: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    yes: { type: "boolean", default: false },
    only: { type: "string" },
  },
});

const log = (line: string) => console.log(`[deploy] ${line}`);
const refuse = (reasons: string[]) => {
  console.error(new DeployRefused(reasons).message);
  process.exit(1);
};

const environment = values.env as EnvironmentName | undefined;
if (!environment || !environmentNames.includes(environment)) {
  refuse([`--env must be one of ${environmentNames.join(", ")}`]);
}
const env = environment as EnvironmentName;
// The environments file is validated first: a wrong value is named before anything is reached.
readEnvironments();

const missing = ["CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN"].filter((name) => !process.env[name]);
if (missing.length > 0) refuse(missing.map((name) => `${name} is not set`));

const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();
const changed = git("status", "--porcelain", "--untracked-files=no");
if (changed && !values["dry-run"]) {
  refuse(["the work tree has uncommitted changes: a version must be built from the commit it names"]);
}
const commit = { sha: git("rev-parse", "HEAD"), subject: git("log", "-1", "--format=%s") };

const confirmAtomic = async (question: string) => {
  if (values.yes) return true;
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test(await prompt.question(`${question} [y/N] `));
  } finally {
    prompt.close();
  }
};

try {
  log(`${values["dry-run"] ? "dry run, " : ""}${env}, commit ${commit.sha.slice(0, 12)} ${commit.subject}`);
  const result = await deploy({
    environment: env,
    dryRun: values["dry-run"],
    access: {
      accountId: process.env.CLOUDFLARE_ACCOUNT_ID ?? "",
      apiToken: process.env.CLOUDFLARE_API_TOKEN ?? "",
      baseUrl: process.env.CLOUDFLARE_API_BASE_URL ?? "https://api.cloudflare.com/client/v4",
    },
    databaseUrls: Object.fromEntries(
      dataServices.map((service) => [service.name, process.env[databaseUrlVariable(service.name)]]),
    ),
    commit,
    confirmAtomic,
    ...(values.only ? { only: values.only.split(",").map((name) => name.trim()) } : {}),
    log,
  });
  const waiting = result.uploaded.filter((upload) => !upload.atomic);
  log(
    `done: ${result.migrated.length} database(s) migrated, ${result.uploaded.length} version(s) uploaded, ` +
      `${result.unchanged.length} Worker(s) unchanged`,
  );
  // The uploaded versions go to the rollout controller when the deploy may reach it; else the
  // operator starts each rollout (npm run release).
  const api = process.env.EDGEBANK_API_URL;
  const token = process.env.EDGEBANK_OPERATOR_TOKEN;
  for (const upload of waiting) {
    if (api && token && !values["dry-run"]) {
      const { rollout, alreadyUnderWay } = await startRollout(api, token, {
        service: upload.service,
        versionId: upload.versionId,
      });
      log(
        `  ${upload.worker} ${upload.versionId}: rollout ${rollout.id} ${alreadyUnderWay ? "already under way" : "started"}`,
      );
    } else {
      log(
        `  ${upload.worker} ${upload.versionId} awaits its rollout: npm run release -- --service ${upload.service} --version ${upload.versionId}`,
      );
    }
  }
} catch (error) {
  if (error instanceof DeployRefused) refuse(error.reasons);
  throw error;
}
