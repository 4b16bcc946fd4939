import { withDatabase } from "@edgebank/db";
import { reportingDurableObject, withErrorReporting } from "@edgebank/http";
import { rolloutsUnderWay } from "./repo/rollouts.ts";
import { RolloutDO as RolloutDOClass } from "./rollout-do.ts";
import { registerRolloutRoutes } from "./routes/rollouts.ts";
import { app, relayDeliveryEvents, rolloutObject, serviceSettings } from "./service.ts";

/** RolloutDO, reporting what its RPC methods throw. */
export type RolloutDO = RolloutDOClass;
export const RolloutDO = reportingDurableObject("delivery", RolloutDOClass);

/**
 * The delivery service: rollouts of new Worker versions (probed at 0 %, then stepped up through
 * the Workers deployments API while each step's analysis compares the new version with the stable
 * one, rolled back on its own when it is worse), and the operator API that starts and steers them.
 */
registerRolloutRoutes(app);

export default withErrorReporting("delivery", {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    // Every minute: publish what the relay after each change left pending, and wake every
    // rollout under way (one whose alarm was lost goes on; a waiting one sets its alarm again).
    ctx.waitUntil(
      Promise.all([
        relayDeliveryEvents(env, "cron"),
        withDatabase(serviceSettings(env), rolloutsUnderWay).then((ids) =>
          Promise.all(ids.map((id) => rolloutObject(env, id).begin(id))),
        ),
      ]),
    );
  },
} satisfies ExportedHandler<Env>);
