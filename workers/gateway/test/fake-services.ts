/**
 * Stand-ins for the services behind the gateway in its workerd tests. They run in the Node
 * process that hosts Miniflare; a test sets how each behaves through the CONTROL binding.
 * /ready answers per the behaviour set; AUTH serves the JWKS the test published; every other
 * path echoes what arrived, so tests can see exactly what the gateway forwarded.
 */
type Behaviour = "ready" | "not_ready" | "hang" | "crash";

interface Control {
  behaviours?: Record<string, Behaviour>;
  jwks?: { keys: unknown[] };
  /** Status the echo answers with (to test idempotency of errors). */
  echoStatus?: number;
  /** Milliseconds the echo waits before answering (to test concurrent retries). */
  echoDelayMs?: number;
  /** Answers given instead of the echo, one per call, first to last (then the echo again). */
  answers?: Array<{ status: number; body: unknown; headers?: Record<string, string> }>;
}

/** A set of stand-in services and their CONTROL binding, with state of their own. */
export function createFakeServices(services: string[]) {
  let state: Control = {};
  const seenHeaders: Record<string, Record<string, string>> = {};
  const calls: Record<string, number> = {};

  const fakeService =
    (service: string) =>
    async (request: Request): Promise<Response> => {
      const url = new URL(request.url);
      if (url.pathname === "/ready") {
        seenHeaders[service] = Object.fromEntries(request.headers);
        switch (state.behaviours?.[service] ?? "ready") {
          case "ready":
            return Response.json({ status: "ready", service, version: "v1", checks: { database: { status: "up" } } });
          case "not_ready":
            return Response.json({ status: 503, code: "not_ready" }, { status: 503 });
          case "hang":
            await new Promise((resolve) => setTimeout(resolve, 5_000));
            return Response.json({ status: "ready" });
          case "crash":
            throw new Error("service crashed");
        }
      }
      if (service === "auth" && url.pathname === "/.well-known/jwks.json")
        return Response.json(state.jwks ?? { keys: [] });
      calls[service] = (calls[service] ?? 0) + 1;
      if (state.echoDelayMs) await new Promise((resolve) => setTimeout(resolve, state.echoDelayMs));
      const body = request.method === "GET" ? "" : await request.text();
      const scripted = state.answers?.shift();
      if (scripted) return Response.json(scripted.body, { status: scripted.status, headers: scripted.headers ?? {} });
      return Response.json(
        {
          service,
          method: request.method,
          path: url.pathname,
          query: url.search,
          headers: Object.fromEntries(request.headers),
          body,
          call: calls[service],
        },
        { status: state.echoStatus ?? 200 },
      );
    };

  /** CONTROL: POST merges settings; DELETE resets all but the JWKS; GET returns what services saw. */
  const control = async (request: Request): Promise<Response> => {
    if (request.method === "POST") {
      state = { ...state, ...((await request.json()) as Control) };
      return new Response(null, { status: 204 });
    }
    if (request.method === "DELETE") {
      state = { jwks: state.jwks };
      return new Response(null, { status: 204 });
    }
    return Response.json({ seenHeaders, calls });
  };

  return {
    CONTROL: control,
    ...Object.fromEntries(services.map((service) => [service.toUpperCase(), fakeService(service)])),
  };
}
