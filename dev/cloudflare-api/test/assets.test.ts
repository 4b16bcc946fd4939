import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CloudflareApiServer, startCloudflareApi } from "../server.ts";

/**
 * Workers static assets' direct upload on the stand-in, driven by the real wrangler (deploy and
 * versions upload of a Worker with an assets directory), and by hand for what wrangler never
 * sends (a wrong token, a file of the wrong size, an unknown completion token).
 */
const account_id = "0123456789abcdef0123456789abcdef";
const token = "assets-test-token";
const wranglerBin = fileURLToPath(new URL("../../../node_modules/.bin/wrangler", import.meta.url));
let api: CloudflareApiServer;
let folder: string;

beforeEach(async () => {
  api = await startCloudflareApi({ accountId: account_id, token });
  folder = await mkdtemp(join(tmpdir(), "edgebank-assets-"));
  await mkdir(join(folder, "public"));
  await writeFile(join(folder, "index.js"), "export default { fetch: (r, env) => env.ASSETS.fetch(r) };\n");
  await writeFile(
    join(folder, "wrangler.toml"),
    'name = "site"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\nworkers_dev = false\npreview_urls = false\n[assets]\ndirectory = "./public"\nbinding = "ASSETS"\n',
  );
  // Twelve files: more than one bucket.
  for (let index = 0; index < 12; index += 1)
    await writeFile(join(folder, "public", `page-${index}.html`), `<p>page ${index}</p>\n`);
});
afterEach(async () => {
  await api.close();
  await rm(folder, { recursive: true, force: true });
});

function wrangler(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(wranglerBin, [...args, "-c", join(folder, "wrangler.toml")], {
      cwd: folder,
      env: {
        ...process.env,
        CLOUDFLARE_ACCOUNT_ID: account_id,
        CLOUDFLARE_API_TOKEN: token,
        CLOUDFLARE_API_BASE_URL: api.apiBaseUrl,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("the static assets upload of the stand-in", () => {
  it("takes a Worker's assets from wrangler in buckets, and asks only for what changed", async () => {
    const deployed = await wrangler("deploy");
    expect(deployed.code, deployed.output).toBe(0);
    expect(deployed.output).toMatch(/Found 12 new or modified static assets to upload/);

    const unchanged = await wrangler("versions", "upload");
    expect(unchanged.code, unchanged.output).toBe(0);
    expect(unchanged.output).toMatch(/No updated asset files to upload/);

    await writeFile(join(folder, "public", "page-3.html"), "<p>page three, edited</p>\n");
    const edited = await wrangler("versions", "upload");
    expect(edited.code, edited.output).toBe(0);
    expect(edited.output).toMatch(/Found 1 new or modified static asset to upload/);
    expect(api.workers.versions("site", 1, 10)).toHaveLength(3);
  }, 60_000);

  it("refuses a bucket without its session, a file of another size, and an unknown completion token", async () => {
    const base = `${api.apiBaseUrl}/accounts/${account_id}/workers`;
    const session = (await (
      await fetch(`${base}/scripts/site/assets-upload-session`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ manifest: { "/a.txt": { hash: "0123456789abcdef0123456789abcdef", size: 3 } } }),
      })
    ).json()) as { result: { jwt: string; buckets: string[][] } };
    expect(session.result.buckets).toEqual([["0123456789abcdef0123456789abcdef"]]);

    const bucket = (content: string) => {
      const form = new FormData();
      form.set("0123456789abcdef0123456789abcdef", new Blob([Buffer.from(content).toString("base64")]));
      return form;
    };
    const post = (auth: string, form: FormData) =>
      fetch(`${base}/assets/upload?base64=true`, {
        method: "POST",
        headers: { authorization: `Bearer ${auth}` },
        body: form,
      });
    expect((await post(token, bucket("abc"))).status).toBe(401);
    expect((await post(session.result.jwt, bucket("abcd"))).status).toBe(400);
    const done = await post(session.result.jwt, bucket("abc"));
    expect(done.status).toBe(201);
    expect(((await done.json()) as { result: { jwt: string } }).result.jwt).toMatch(/^assets-complete-/);

    api.workers.putScript("site", { metadata: {}, modules: [] });
    const form = new FormData();
    form.set("metadata", JSON.stringify({ main_module: "index.js", assets: { jwt: "assets-complete-made-up" } }));
    form.set("index.js", new Blob(["export default {}"], { type: "application/javascript+module" }), "index.js");
    const refused = await fetch(`${base}/scripts/site/versions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(refused.status).toBe(400);
  });
});
