import { DurableObject } from "cloudflare:workers";
import { KeptDatabase, openDatabase } from "@edgebank/db";
import {
  analyzed,
  type Command,
  type CommandOutcome,
  command,
  deploymentOf,
  next,
  probed,
  type RolloutState,
  type Transition,
} from "@edgebank/durable-objects/rollout";
import { createLogger, describeError } from "@edgebank/http";
import { getRollout, type RolloutRow, saveRollout, stateOf } from "./repo/rollouts.ts";
import { analyzeStep } from "./rollouts/analysis.ts";
import { runProbes } from "./rollouts/probes.ts";
import { Traffic } from "./rollouts/traffic.ts";
import { config, relayDeliveryEvents, serviceSettings } from "./service.ts";

/** How soon a rollout tries again after the Cloudflare API, the metrics or the ledger failed it. */
const RETRY_MS = 30_000;

/**
 * One rollout (`rolloutObject(env, id)`), driven by its alarm: it runs what the machine asks for
 * next (probes at 0 %, a step's analysis, a wait), stores each transition with its events in the
 * delivery database, and keeps the Worker's deployment where the state says. Operator commands
 * come through `command`. One thing at a time: the alarm and commands queue on `#turn`.
 */
export class RolloutDO extends DurableObject<Env> {
  readonly #database = new KeptDatabase(() => openDatabase(serviceSettings(this.env)));
  #turn: Promise<unknown> = Promise.resolve();

  #log() {
    const { SERVICE_VERSION, LOG_LEVEL } = config(this.env);
    return createLogger({ service: "delivery", version: SERVICE_VERSION }, LOG_LEVEL);
  }

  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(work, work);
    this.#turn = run.catch(() => {});
    return run;
  }

  async #load(id: string): Promise<RolloutRow> {
    const row = await getRollout(this.#database.db(), id);
    if (!row) throw new Error(`rollout ${id} does not exist`);
    return row;
  }

  async #save(row: RolloutRow, transition: Transition): Promise<RolloutRow> {
    const revision = await saveRollout(this.#database.db(), transition.state, row.revision, transition.events);
    if (transition.events.length > 0) this.ctx.waitUntil(relayDeliveryEvents(this.env, "commit"));
    return { ...row, status: transition.state.status, state: transition.state as never, revision };
  }

  /** Makes the Worker's deployment what the state wants (nothing when it already is). */
  async #steer(state: RolloutState): Promise<void> {
    const split = deploymentOf(state);
    const changed = await new Traffic(this.env).ensure(
      state.worker,
      split,
      `rollout ${state.id}: ${state.status} ${split.map((v) => `${v.version_id.slice(0, 8)} ${v.percentage}%`).join(", ")}`,
    );
    if (changed) this.#log().info("rollout traffic", { rolloutId: state.id, worker: state.worker, split });
  }

  /** Starts (or resumes after a restart) the rollout `id`, whose row the route wrote. */
  async begin(id: string): Promise<void> {
    await this.ctx.storage.put("rolloutId", id);
    await this.ctx.storage.setAlarm(Date.now());
  }

  /** An operator's command, idempotent by `commandId`; answers what it did (or why not). */
  async command(id: string, input: { commandId: string; command: Command; by: string }): Promise<CommandOutcome> {
    return this.#serialized(async () => {
      const row = await this.#load(id);
      const transition = command(stateOf(row), {
        id: input.commandId,
        command: input.command,
        by: input.by,
        now: Date.now(),
      });
      if (transition.state !== stateOf(row)) await this.#save(row, transition);
      await this.#steer(transition.state);
      // The machine may have work again (a resumed step); the alarm picks it up.
      await this.ctx.storage.put("rolloutId", id);
      await this.ctx.storage.setAlarm(Date.now());
      return transition.outcome;
    });
  }

  override async alarm(): Promise<void> {
    const id = await this.ctx.storage.get<string>("rolloutId");
    if (!id) return;
    await this.#serialized(async () => {
      try {
        await this.#advance(id);
      } catch (error) {
        this.#log().warn("rollout step failed; trying again", { rolloutId: id, ...describeError(error) });
        await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
      }
    });
  }

  /**
   * Runs the rollout as far as it can go now; leaves an alarm for when it can go on. The
   * deployment is checked once per run (someone may have moved it since) and again only after a
   * transition that changes the split.
   */
  async #advance(id: string): Promise<void> {
    let row = await this.#load(id);
    let steered: string | undefined;
    for (;;) {
      const state = stateOf(row);
      const split = JSON.stringify(deploymentOf(state));
      if (split !== steered) {
        await this.#steer(state);
        steered = split;
      }
      const now = Date.now();
      const wanted = next(state, now);
      switch (wanted.kind) {
        case "done":
          return;
        case "wait":
          await this.ctx.storage.setAlarm(wanted.until);
          return;
        case "probe":
          row = await this.#save(row, probed(state, await runProbes(this.env, state, wanted.checks), Date.now()));
          break;
        case "analyze":
          row = await this.#save(
            row,
            analyzed(state, await analyzeStep(this.env, state, row.service, wanted), Date.now()),
          );
          break;
      }
    }
  }
}
