/**
 * Stand-ins for the services behind the gateway in its workerd tests. They run in the Node
 * process that hosts Miniflare; a test sets how each behaves through the CONTROL binding.
 */
type Behaviour = "ready" | "not_ready" | "hang" | "crash";

let behaviours: Record<string, Behaviour> = {};
export const seenHeaders: Record<string, Record<string, string>> = {};

export function fakeService(service: string) {
  return async (request: Request): Promise<Response> => {
    seenHeaders[service] = Object.fromEntries(request.headers);
    switch (behaviours[service] ?? "ready") {
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
  };
}

/** CONTROL binding: POST a map of service → behaviour; GET returns the headers each service saw. */
export async function control(request: Request): Promise<Response> {
  if (request.method === "POST") {
    behaviours = (await request.json()) as Record<string, Behaviour>;
    return new Response(null, { status: 204 });
  }
  return Response.json(seenHeaders);
}
