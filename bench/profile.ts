import { writeFileSync } from "node:fs";
import WebSocket from "ws";

/**
 * A CPU profile of one Worker's isolate under `wrangler dev`, taken through workerd's inspector
 * (the V8 Profiler domain of the DevTools protocol; see findWorkerdInspector): where a run's
 * CPU went, by function. BENCH_CPU_PROFILE=<folder> makes a benchmark profile its measured
 * runs, write each as a `.cpuprofile` (open it in Chrome DevTools or speedscope) and print the
 * functions that took the most time of their own.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The folder profiles go to, when BENCH_CPU_PROFILE asks for them. */
export const profileFolder = process.env.BENCH_CPU_PROFILE || undefined;

/** Starts profiling the isolate behind a DevTools WebSocket; `stop` ends it and returns the profile. */
export async function startProfile(inspectorUrl: string): Promise<{ stop: () => Promise<Profile> }> {
  const socket = new WebSocket(inspectorUrl);
  const within = <T>(what: string, promise: Promise<T>) =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${what}: no answer from ${inspectorUrl} in 5 s`)), 5_000).unref(),
      ),
    ]);
  await within(
    "connect",
    new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    }),
  ).catch((error: unknown) => {
    socket.terminate();
    throw error;
  });
  let lastId = 0;
  const waiting = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: unknown };
    const pending = message.id === undefined ? undefined : waiting.get(message.id);
    if (!pending || message.id === undefined) return;
    waiting.delete(message.id);
    if (message.error) pending.reject(new Error(JSON.stringify(message.error)));
    else pending.resolve(message.result);
  });
  const send = (method: string, params: object = {}) =>
    within(
      method,
      new Promise<unknown>((resolve, reject) => {
        lastId += 1;
        waiting.set(lastId, { resolve, reject });
        socket.send(JSON.stringify({ id: lastId, method, params }));
      }),
    );
  await send("Profiler.enable");
  // 1 ms between samples: fine enough for functions that cost microseconds a call over a
  // 10 s run, coarse enough not to slow the Worker down much.
  await send("Profiler.setSamplingInterval", { interval: 1_000 });
  await send("Profiler.start");
  return {
    async stop() {
      const { profile } = (await send("Profiler.stop")) as { profile: Profile };
      socket.close();
      return profile;
    },
  };
}

/** Each function's own time (not its callees'), in microseconds, largest first. */
export function selfTimes(profile: Profile): Array<{ name: string; us: number }> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byName = new Map<string, number>();
  profile.samples.forEach((nodeId, index) => {
    const frame = nodes.get(nodeId)?.callFrame;
    if (!frame) return;
    const file = frame.url.split("/").slice(-1)[0] ?? "";
    const name = `${frame.functionName || "(anonymous)"}${file ? ` ${file}:${frame.lineNumber + 1}` : ""}`;
    byName.set(name, (byName.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  return [...byName].map(([name, us]) => ({ name, us })).sort((a, b) => b.us - a.us);
}

/** Writes the profile to `<folder>/<name>.cpuprofile` and prints its top functions by own time. */
export function reportProfile(folder: string, name: string, profile: Profile, operations: number, top = 25): void {
  const path = `${folder}/${name.replace(/[^\w.-]+/g, "-")}.cpuprofile`;
  writeFileSync(path, JSON.stringify(profile));
  const times = selfTimes(profile);
  const busy = times.filter((time) => time.name !== "(idle)" && time.name !== "(program)");
  const busyUs = busy.reduce((sum, time) => sum + time.us, 0);
  console.log(
    `${name}: ${path}, ${(busyUs / 1000).toFixed(0)} ms busy, ${(busyUs / Math.max(operations, 1)).toFixed(1)} µs per operation`,
  );
  for (const time of busy.slice(0, top)) {
    console.log(
      `  ${(time.us / Math.max(operations, 1)).toFixed(2).padStart(7)} µs/op ${((100 * time.us) / busyUs).toFixed(1).padStart(5)} %  ${time.name}`,
    );
  }
}
