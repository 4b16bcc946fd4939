import type { DownstreamService } from "@edgebank/contracts";
import { publicRouteOf, publicRoutes } from "@edgebank/contracts/public-routes";
import { describe, expect, it } from "vitest";

/** Calls the worker under test: a path on it and request options. */
export type WorkerFetch = (path: string, init?: RequestInit) => Promise<Response>;

async function problemOf(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as Record<string, unknown>;
}

/** A service's own paths, never routed by the gateway: probes, its document, internal calls. */
const ownPaths = /^\/(health|ready|openapi\.json)$|^\/internal\//;
const httpMethods = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/**
 * What every data service must do from its first day, checked against the real worker inside
 * workerd with its real database: liveness, readiness (database and schema), RFC 9457 errors
 * for malformed JSON and unknown routes, and an OpenAPI document that agrees with the public
 * routes (`@edgebank/contracts`) the gateway sends it.
 */
export function describeServiceBasics(service: DownstreamService, call: WorkerFetch): void {
  describe(`${service}: platform basics`, () => {
    it("reports liveness", async () => {
      const response = await call("/health");
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "ok", service });
    });

    it("is ready: its database answers and its schema is migrated", async () => {
      const response = await call("/ready");
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status: "ready", service, checks: { database: { status: "up" } } });
      expect(response.status).toBe(200);
    });

    it("answers malformed JSON with a 400 problem carrying the request id", async () => {
      const response = await call("/ready", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"amount": 10',
      });
      expect(response.status).toBe(400);
      const problem = await problemOf(response);
      expect(problem).toMatchObject({ status: 400, code: "malformed_json", instance: "/ready" });
      expect(problem.requestId).toBe(response.headers.get("x-request-id"));
      expect(problem.requestId).toMatch(/^req_/);
    });

    it("answers an unknown route with a 404 problem", async () => {
      const response = await call("/v1/does-not-exist");
      expect(response.status).toBe(404);
      expect(await problemOf(response)).toMatchObject({
        status: 404,
        code: "not_found",
        instance: "/v1/does-not-exist",
      });
    });

    it("publishes its OpenAPI document", async () => {
      const response = await call("/openapi.json");
      expect(response.status).toBe(200);
      const document = (await response.json()) as { info: { title: string }; paths: Record<string, unknown> };
      expect(document.info.title).toBe(`edgebank ${service}`);
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/health", "/ready"]));
    });

    it("documents exactly the public routes the gateway sends it", async () => {
      const document = (await (await call("/openapi.json")).json()) as { paths: Record<string, object> };
      const operations = Object.entries(document.paths)
        .filter(([path]) => !ownPaths.test(path))
        .flatMap(([path, item]) =>
          Object.keys(item)
            .filter((method) => httpMethods.has(method))
            .map((method) => ({ method: method.toUpperCase(), path })),
        );
      const unrouted = operations.filter(({ method, path }) => publicRouteOf(method, path)?.service !== service);
      expect(unrouted, "documented operations the gateway does not route to this service").toEqual([]);
      const routed = new Set(operations.map(({ method, path }) => publicRouteOf(method, path)));
      const undocumented = publicRoutes
        .filter((route) => route.service === service && !routed.has(route))
        .map(({ method, path }) => `${method} ${path}`);
      expect(undocumented, "public routes to this service with no documented operation").toEqual([]);
    });
  });
}
