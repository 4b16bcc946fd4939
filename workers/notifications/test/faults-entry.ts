/**
 * The notifications Worker as the test builds run it (`EDGEBANK_TEST_FAULTS=true`): src/index.ts,
 * with one deliberate bug the chaos checker must catch, switched on by `EDGEBANK_BROKEN=
 * dropped-event` (see @edgebank/durable-objects/flow/testing): its consumers mark an event
 * handled and do nothing with it. Never deployed: production runs src/index.ts.
 */
import type { ConsumerHost } from "@edgebank/consumer/durable-object";
import { hits, isBroken } from "@edgebank/durable-objects/flow/testing";
import { reportingDurableObject } from "@edgebank/http";
import { NotificationsConsumerDO as NotificationsConsumerDOClass } from "../src/consumers.ts";
import worker from "../src/index.ts";

export * from "../src/index.ts";

class DroppingConsumerDO extends NotificationsConsumerDOClass {
  protected override host(): ConsumerHost {
    const host = super.host();
    if (!isBroken(this.env, "dropped-event")) return host;
    return {
      ...host,
      consumers: host.consumers.map((spec) => {
        const handle = spec.handle;
        return handle
          ? { ...spec, handle: (tx, event) => (hits(event.id) ? Promise.resolve() : handle(tx, event)) }
          : spec;
      }),
    };
  }
}

export const NotificationsConsumerDO = reportingDurableObject("notifications", DroppingConsumerDO);

export default worker;
