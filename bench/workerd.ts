import { freePort } from "../dev/stack/ports.ts";
import { spawnWrangler, waitForOk } from "../dev/stack/stack.ts";
import { findWorkerdPort } from "../dev/stack/workerd-port.ts";

/**
 * The bare Durable Object round trip (`bench/fixtures/do-hop`: one request, one RPC to an object
 * that only counts) on a wrangler of its own: the runtime's ceiling for any design that puts a
 * Durable Object on the path. `ready()` waits for it and answers workerd's own URL.
 */
export async function spawnDoHop(persistDir: string) {
  const port = await freePort();
  const wrangler = await spawnWrangler({
    configs: ["bench/fixtures/do-hop/wrangler.toml"],
    port,
    persistDir,
    env: {},
    output: "ignore",
    localObservability: false,
  });
  return {
    stop: wrangler.stop,
    ready: async () => {
      await waitForOk(`http://127.0.0.1:${port}/health`, 60_000, wrangler.exited);
      return `http://127.0.0.1:${await findWorkerdPort(wrangler.child, "do-hop", port)}`;
    },
  };
}
