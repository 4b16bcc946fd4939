import { randomBytes } from "node:crypto";
import { ApiError } from "./workers.ts";

/** One file of an asset manifest: its content hash and size, keyed by its path. */
interface ManifestEntry {
  hash: string;
  size: number;
}
type Manifest = Record<string, ManifestEntry>;

/** Files per upload request, as Cloudflare groups the buckets it asks for. */
const BUCKET_SIZE = 10;

const parseManifest = (body: Record<string, unknown>): Manifest => {
  const manifest = body.manifest;
  if (typeof manifest !== "object" || manifest === null) throw new ApiError(400, 10_001, "a manifest is required");
  for (const [path, entry] of Object.entries(manifest)) {
    const { hash, size } = (entry ?? {}) as Partial<ManifestEntry>;
    if (!path.startsWith("/") || typeof hash !== "string" || !/^[0-9a-f]{32}$/.test(hash) || typeof size !== "number")
      throw new ApiError(400, 10_001, `manifest entry ${path} needs a 32-hex hash and a size`);
  }
  return manifest as Manifest;
};

/**
 * Workers static assets' direct upload, as `wrangler deploy` and `versions upload` use it:
 * an upload session for a script's manifest answers the hashes it still lacks in buckets and
 * a session token; each bucket is posted (multipart, base64 parts named by hash) with that
 * token; the last answers a completion token, which the script or version upload names in
 * its metadata (`assets.jwt`). A manifest whose files are all known completes at once.
 */
export class AssetsApi {
  readonly #files = new Map<string, Buffer>();
  readonly #sessions = new Map<string, { script: string; manifest: Manifest; missing: Set<string> }>();
  readonly #completions = new Map<string, { script: string; manifest: Manifest }>();

  #complete(script: string, manifest: Manifest): string {
    const token = `assets-complete-${randomBytes(16).toString("hex")}`;
    this.#completions.set(token, { script, manifest });
    return token;
  }

  startSession(script: string, body: Record<string, unknown>): { jwt: string; buckets: string[][] } {
    const manifest = parseManifest(body);
    const missing = [...new Set(Object.values(manifest).map((entry) => entry.hash))].filter(
      (hash) => !this.#files.has(hash),
    );
    if (missing.length === 0) return { jwt: this.#complete(script, manifest), buckets: [] };
    const token = `assets-session-${randomBytes(16).toString("hex")}`;
    this.#sessions.set(token, { script, manifest, missing: new Set(missing) });
    const buckets: string[][] = [];
    for (let index = 0; index < missing.length; index += BUCKET_SIZE)
      buckets.push(missing.slice(index, index + BUCKET_SIZE));
    return { jwt: token, buckets };
  }

  /** One bucket of files (hash → base64 content) for the session of `authorization`. */
  upload(authorization: string | undefined, parts: Array<{ hash: string; base64: string }>) {
    const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1] ?? "";
    const session = this.#sessions.get(token);
    if (!session) throw new ApiError(401, 10_000, "Authentication error: not an open asset upload session");
    const sizes = new Map(Object.values(session.manifest).map((entry) => [entry.hash, entry.size]));
    for (const { hash, base64 } of parts) {
      if (!session.missing.has(hash)) throw new ApiError(400, 10_001, `${hash} was not asked for in this session`);
      const bytes = Buffer.from(base64, "base64");
      if (bytes.length !== sizes.get(hash))
        throw new ApiError(400, 10_001, `${hash} has ${bytes.length} bytes, the manifest says ${sizes.get(hash)}`);
      this.#files.set(hash, bytes);
      session.missing.delete(hash);
    }
    if (session.missing.size > 0) return { status: 202, result: {} };
    this.#sessions.delete(token);
    return { status: 201, result: { jwt: this.#complete(session.script, session.manifest) } };
  }

  /** The manifest a completion token stands for, once, for the script it was made for. */
  claim(script: string, token: string): Manifest {
    const completion = this.#completions.get(token);
    if (!completion || completion.script !== script)
      throw new ApiError(400, 10_001, "the assets completion token is unknown, used, or for another script");
    this.#completions.delete(token);
    return completion.manifest;
  }

  /** The stored content of a file, by hash. */
  file(hash: string): Buffer | undefined {
    return this.#files.get(hash);
  }
}
