import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { runQuery, SqlError, type StoredPoint } from "./analytics-sql.ts";
import { AssetsApi } from "./assets.ts";
import { ApiError, WorkersApi } from "./workers.ts";
import { routeAssetUpload, routeWorkers } from "./workers-routes.ts";

/**
 * The Cloudflare API as edgebank uses it, for development: the Workers scripts API of a deploy
 * (secrets, versions, gradual deployments, `wrangler deploy`; see ./workers.ts), which wrangler
 * and the `cloudflare` client reach through `CLOUDFLARE_API_BASE_URL`; and the Workers Analytics
 * Engine SQL API, `POST
 * /client/v4/accounts/{account_id}/analytics_engine/sql` with a bearer token and the query as
 * the body, answering the ClickHouse JSON format. Locally wrangler keeps no Analytics Engine
 * writes, so Workers also send their data points here (`ANALYTICS_ENGINE_SINK_URL`, development
 * only): `POST /dev/analytics-engine/{dataset}` with a JSON array of `writeDataPoint` arguments.
 */

export interface CloudflareApiOptions {
  port?: number;
  accountId: string;
  /** The API token every route but the development ingest accepts. */
  token: string;
  /** Data points kept; the oldest go first. */
  maxPoints?: number;
  /** Where the account's Workers are kept between runs (unset: in memory only). */
  workersFile?: string;
}

export interface CloudflareApiServer {
  /** The API base, as `CLOUDFLARE_API_BASE_URL` names it (`…/client/v4`). */
  apiBaseUrl: string;
  /** Where Workers send their data points in development. */
  sinkUrl: string;
  points: StoredPoint[];
  /** The Workers scripts of the account (tests read and seed them; the local router follows deployments). */
  workers: WorkersApi;
  /** Static assets uploaded for Workers (tests read them). */
  assets: AssetsApi;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage, limit = 8 * 1024 * 1024): Promise<string> {
  let text = "";
  for await (const chunk of request) {
    text += chunk;
    if (text.length > limit) throw new Error("body too large");
  }
  return text;
}

/** The Cloudflare API's error envelope. */
function failure(response: ServerResponse, status: number, code: number, message: string): void {
  response
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ success: false, errors: [{ code, message }], messages: [], result: null }));
}

const isPoint = (value: unknown): value is { indexes?: unknown; blobs?: unknown; doubles?: unknown } =>
  typeof value === "object" && value !== null;

export async function startCloudflareApi(options: CloudflareApiOptions): Promise<CloudflareApiServer> {
  const points: StoredPoint[] = [];
  const maxPoints = options.maxPoints ?? 500_000;
  const workers = new WorkersApi(options.workersFile);
  const assets = new AssetsApi();
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://api");
    try {
      const ingest = /^\/dev\/analytics-engine\/([A-Za-z0-9_]+)$/.exec(url.pathname);
      if (request.method === "POST" && ingest?.[1]) {
        const body = JSON.parse(await readBody(request)) as unknown;
        if (!Array.isArray(body) || !body.every(isPoint)) return failure(response, 400, 10_001, "expected an array");
        const now = Date.now();
        for (const point of body) {
          const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
          points.push({
            dataset: ingest[1],
            timestamp:
              typeof (point as { timestamp?: unknown }).timestamp === "number"
                ? Number((point as { timestamp: number }).timestamp)
                : now,
            index1: strings(point.indexes)[0] ?? "",
            blobs: strings(point.blobs).slice(0, 20),
            doubles: (Array.isArray(point.doubles) ? point.doubles.map(Number) : []).slice(0, 20),
          });
        }
        if (points.length > maxPoints) points.splice(0, points.length - maxPoints);
        return response.writeHead(204).end();
      }
      const sql = /^\/client\/v4\/accounts\/([^/]+)\/analytics_engine\/sql$/.exec(url.pathname);
      if (sql?.[1]) {
        if (request.method !== "POST") return failure(response, 405, 10_405, "POST the query as the body");
        if (request.headers.authorization !== `Bearer ${options.token}`) {
          return failure(response, 401, 10_000, "Authentication error");
        }
        if (sql[1] !== options.accountId) return failure(response, 403, 10_000, "Authentication error");
        try {
          const result = runQuery(await readBody(request), points);
          return response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
        } catch (error) {
          if (error instanceof SqlError) {
            return response.writeHead(422, { "content-type": "text/plain" }).end(`Error: ${error.message}`);
          }
          throw error;
        }
      }
      const scripts = /^\/client\/v4\/accounts\/([^/]+)\/workers\/(.+)$/.exec(url.pathname);
      // Asset buckets authenticate with their upload session's token, not the API token.
      if (scripts?.[1] === options.accountId && scripts[2] === "assets/upload" && request.method === "POST") {
        const answer = await routeAssetUpload(assets, request);
        return response
          .writeHead(answer.status, { "content-type": "application/json" })
          .end(JSON.stringify({ success: true, errors: [], messages: [], result: answer.result }));
      }
      if (scripts?.[1] && scripts[2]) {
        if (request.headers.authorization !== `Bearer ${options.token}`) {
          return failure(response, 401, 10_000, "Authentication error");
        }
        if (scripts[1] !== options.accountId) return failure(response, 403, 10_000, "Authentication error");
        const answer = await routeWorkers(workers, assets, request, scripts[2], url.searchParams);
        if (answer) {
          return response.writeHead(answer.status, { "content-type": "application/json" }).end(
            JSON.stringify({
              success: true,
              errors: [],
              messages: [],
              result: answer.result,
              ...(answer.resultInfo ? { result_info: answer.resultInfo } : {}),
            }),
          );
        }
      }
      failure(response, 404, 7_003, "Could not route to this path");
    } catch (error) {
      if (error instanceof ApiError) return failure(response, error.status, error.code, error.message);
      failure(response, 400, 10_001, error instanceof Error ? error.message : String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    apiBaseUrl: `${base}/client/v4`,
    sinkUrl: `${base}/dev/analytics-engine`,
    points,
    workers,
    assets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
