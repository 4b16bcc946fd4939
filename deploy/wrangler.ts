import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CloudflareAccess } from "./cloudflare.ts";

const root = fileURLToPath(new URL("../", import.meta.url));
const wranglerBin = join(root, "node_modules/.bin/wrangler");

/** Runs wrangler with the deploy's Cloudflare access; answers its ND-JSON output entries. */
async function wrangler(args: string[], access: CloudflareAccess | undefined): Promise<Record<string, unknown>[]> {
  const outputDir = await mkdtemp(join(tmpdir(), "edgebank-wrangler-"));
  const outputFile = join(outputDir, "output.jsonl");
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      WRANGLER_OUTPUT_FILE_PATH: outputFile,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      ...(access
        ? {
            CLOUDFLARE_ACCOUNT_ID: access.accountId,
            CLOUDFLARE_API_TOKEN: access.apiToken,
            CLOUDFLARE_API_BASE_URL: access.baseUrl,
          }
        : {}),
    };
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(wranglerBin, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (chunk) => {
        text += chunk;
      });
      child.stderr.on("data", (chunk) => {
        text += chunk;
      });
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve(text) : reject(new Error(`wrangler ${args.join(" ")} failed (${code}):\n${text.trim()}`)),
      );
    });
    const lines = await readFile(outputFile, "utf8").catch(() => "");
    const entries = lines
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    if (entries.length === 0) throw new Error(`wrangler ${args.join(" ")} wrote no output:\n${output.trim()}`);
    return entries;
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/**
 * Builds a Worker for an environment as wrangler would upload it (`deploy --dry-run`) and
 * answers a hash of the bundle and of the configuration it deploys with: the same hash means
 * nothing to upload.
 */
export async function bundleHash(config: string, environment: string, resolvedConfig: unknown): Promise<string> {
  const outdir = await mkdtemp(join(tmpdir(), "edgebank-bundle-"));
  try {
    await wrangler(["deploy", "--dry-run", "--env", environment, "-c", config, "--outdir", outdir], undefined);
    const hash = createHash("sha256");
    const files = (await readdir(outdir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    for (const file of files) {
      // The modules only: source maps name the build's temporary paths, and wrangler's
      // README.md the time of the build.
      if (file.endsWith(".map") || file.endsWith("README.md")) continue;
      hash
        .update(relative(outdir, file))
        .update("\0")
        .update(await readFile(file));
    }
    hash.update(JSON.stringify(resolvedConfig));
    return hash.digest("hex").slice(0, 16);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

export interface Upload {
  config: string;
  environment: string;
  /** The version's tag (the bundle's hash) and message (the commit). */
  tag: string;
  message: string;
  vars: Record<string, string>;
}

/**
 * Uploads a version of a Worker: `versions upload` (a new version, not yet serving traffic) or
 * `deploy` (a version with Durable Object class migrations, which Cloudflare cannot roll out
 * gradually: it goes to 100 % of traffic at once). Answers the version's id.
 */
async function upload(
  access: CloudflareAccess,
  command: "versions upload" | "deploy",
  version: Upload,
): Promise<string> {
  const entries = await wrangler(
    [
      ...command.split(" "),
      "--env",
      version.environment,
      "-c",
      version.config,
      "--tag",
      version.tag,
      "--message",
      version.message,
      ...Object.entries(version.vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
    ],
    access,
  );
  const outputType = command === "deploy" ? "deploy" : "version-upload";
  const versionId = entries.find((entry) => entry.type === outputType)?.version_id;
  if (typeof versionId !== "string") throw new Error(`wrangler ${command} of ${version.config} named no version`);
  return versionId;
}

export const uploadVersion = (access: CloudflareAccess, version: Upload) => upload(access, "versions upload", version);
export const deployAtomically = (access: CloudflareAccess, version: Upload) => upload(access, "deploy", version);
