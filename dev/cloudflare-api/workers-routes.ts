import type { IncomingMessage } from "node:http";
import type { AssetsApi } from "./assets.ts";
import { ApiError, type WorkersApi } from "./workers.ts";

/** An API answer: the v4 envelope's `result` (and `result_info` for paged lists). */
export interface Answer {
  status: number;
  result: unknown;
  resultInfo?: Record<string, number>;
}

async function readBytes(request: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, 10_001, "body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A script upload as wrangler sends it: multipart, a `metadata` JSON part and one part per module. */
/** A multipart/form-data body, parsed. */
async function readForm(request: IncomingMessage): Promise<FormData> {
  return new Request("http://upload", {
    method: "POST",
    headers: { "content-type": request.headers["content-type"] ?? "" },
    body: new Uint8Array(await readBytes(request)),
  })
    .formData()
    .catch(() => {
      throw new ApiError(400, 10_001, "expected a multipart/form-data upload");
    });
}

async function readUpload(request: IncomingMessage) {
  const form = await readForm(request);
  const metadata = form.get("metadata");
  if (metadata === null) throw new ApiError(400, 10_001, "the upload has no metadata part");
  const modules: { name: string; bytes: number }[] = [];
  for (const [name, part] of form.entries()) {
    if (name !== "metadata" && typeof part !== "string") modules.push({ name, bytes: part.size });
  }
  const text = typeof metadata === "string" ? metadata : await metadata.text();
  return { metadata: JSON.parse(text) as Parameters<WorkersApi["putScript"]>[1]["metadata"], modules };
}

const json = async (request: IncomingMessage) => {
  const text = (await readBytes(request)).toString("utf8");
  try {
    return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  } catch {
    throw new ApiError(400, 10_001, "the body is not JSON");
  }
};

/**
 * One bucket of an asset upload session (`POST …/workers/assets/upload?base64=true`):
 * multipart, one part per file named by its hash, its content base64.
 */
export async function routeAssetUpload(assets: AssetsApi, request: IncomingMessage): Promise<Answer> {
  const form = await readForm(request);
  const parts: Array<{ hash: string; base64: string }> = [];
  for (const [hash, part] of form.entries())
    parts.push({ hash, base64: typeof part === "string" ? part : await part.text() });
  return assets.upload(request.headers.authorization, parts);
}

/**
 * Routes `…/accounts/{account_id}/workers/<rest>` to the model; undefined when no route matches.
 * `rest` is the path after `workers/`.
 */
export async function routeWorkers(
  api: WorkersApi,
  assets: AssetsApi,
  request: IncomingMessage,
  rest: string,
  query: URLSearchParams,
): Promise<Answer | undefined> {
  const method = request.method ?? "GET";
  const parts = rest.split("/").map(decodeURIComponent);
  const ok = (result: unknown, status = 200): Answer => ({ status, result });
  if (parts[0] === "services" && parts.length === 2 && method === "GET") return ok(api.service(parts[1] ?? ""));
  if (parts[0] === "workers" && parts.length === 2 && method === "GET") return ok(api.worker(parts[1] ?? ""));
  if (parts[0] !== "scripts" || !parts[1]) return undefined;
  const name = parts[1];
  const [, , resource, id] = parts;
  // A script or version with static assets names the completion token of their upload.
  const withAssets = async () => {
    const upload = await readUpload(request);
    const token = upload.metadata.assets?.jwt;
    if (token !== undefined) assets.claim(name, token);
    return upload;
  };
  switch (`${method} ${resource ?? ""}${id === undefined ? "" : "/:id"}`) {
    case "PUT ":
      return ok(api.putScript(name, await withAssets()));
    case "POST assets-upload-session":
      return ok(assets.startSession(name, await json(request)));
    case "GET settings":
      return ok(api.settings(name));
    case "PATCH settings":
    case "PATCH script-settings":
    case "GET script-settings":
      // Logpush, tail consumers and observability: accepted, nothing a deploy here depends on.
      return ok(method === "PATCH" ? await json(request) : {});
    case "POST subdomain":
      return ok(api.setSubdomain(name, await json(request)));
    case "GET schedules":
      return ok(api.schedules(name));
    case "PUT schedules":
      return ok(api.schedules(name, JSON.parse((await readBytes(request)).toString("utf8") || "[]")));
    case "POST domains/:id":
      if (id !== "changeset") return undefined;
      return ok(api.domainChangeset(name, JSON.parse((await readBytes(request)).toString("utf8") || "[]")));
    case "PUT domains/:id":
      if (id !== "records") return undefined;
      return ok(api.setDomains(name, await json(request)));
    case "GET secrets":
      return ok(api.secrets(name));
    case "PUT secrets":
      return ok(api.putSecret(name, await json(request)));
    case "POST versions":
      return ok(api.uploadVersion(name, await withAssets(), query.get("bindings_inherit") === "strict"));
    case "GET versions": {
      const page = Math.max(1, Number(query.get("page") ?? 1) || 1);
      const perPage = Math.min(100, Math.max(1, Number(query.get("per_page") ?? 10) || 10));
      return {
        status: 200,
        result: { items: api.versions(name, page, perPage) },
        resultInfo: { page, per_page: perPage },
      };
    }
    case "GET versions/:id":
      return ok(api.version(name, id ?? ""));
    case "GET deployments":
      return ok(api.deployments(name));
    case "POST deployments":
      return ok(api.createDeployment(name, await json(request)));
    default:
      return undefined;
  }
}
