import { authenticated, type ServiceEnv } from "@edgebank/service";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { ConsumerSpec } from "./consume.ts";
import {
  consumerObjectStatuses,
  type EventConsumerDO,
  startConsumerObjects,
  stopConsumerObjects,
} from "./durable-object.ts";

/**
 * Operators' hold on a service's consumers, under `/v1/operations/<service>/consumers`: their
 * positions and last batches; stop them (they leave their groups; events wait in Kafka, nothing
 * is lost) and start them again (they resume from the committed offsets). A stopped consumer
 * stays stopped through crons and requests until an operator starts it.
 */
export function registerConsumerRoutes(
  app: OpenAPIHono<ServiceEnv>,
  service: string,
  consumers: (env: object) => {
    namespace: DurableObjectNamespace<EventConsumerDO>;
    specs: readonly ConsumerSpec[];
  },
): void {
  const path = `/v1/operations/${service}/consumers`;
  const list = z.object({ items: z.array(z.record(z.string(), z.unknown())) });
  const common = {
    tags: ["operator"],
    security: [{ bearer: [] as string[] }],
    middleware: [authenticated("operator")],
  };
  const answer = { 200: { description: "Each consumer's status", content: { "application/json": { schema: list } } } };
  const statuses = async (env: object) => {
    const { namespace, specs } = consumers(env);
    return { items: (await consumerObjectStatuses(namespace, specs)) as unknown as Array<Record<string, unknown>> };
  };
  app.openapi(
    createRoute({
      method: "get",
      path,
      summary: `Operator: the ${service} service's consumers`,
      ...common,
      responses: answer,
    }),
    async (c) => c.json(await statuses(c.env), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: `${path}/stop`,
      summary: `Operator: stop the ${service} service's consumers (events wait in Kafka)`,
      ...common,
      responses: answer,
    }),
    async (c) => {
      const { namespace, specs } = consumers(c.env);
      await stopConsumerObjects(namespace, specs);
      c.var.log.warn("consumers stopped by an operator", { service });
      return c.json(await statuses(c.env), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: `${path}/start`,
      summary: `Operator: start the ${service} service's consumers again (from the committed offsets)`,
      ...common,
      responses: answer,
    }),
    async (c) => {
      const { namespace, specs } = consumers(c.env);
      await startConsumerObjects(namespace, specs, { resume: true });
      c.var.log.info("consumers started by an operator", { service });
      return c.json(await statuses(c.env), 200);
    },
  );
}
