import { AppError } from "@edgebank/errors";
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
 * is lost) and start them again (they resume from the committed offsets); `?topic=` limits
 * either to the consumer of one topic. A stopped consumer stays stopped through crons and
 * requests until an operator starts it.
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
  const topicQuery = z.object({
    topic: z
      .string()
      .optional()
      .openapi({ description: "only the consumer of this topic", example: "edgebank.orders" }),
  });
  /** The specs an operator's stop or start applies to: all, or the one topic's (404 if none). */
  const chosen = (env: object, topic: string | undefined) => {
    const { namespace, specs } = consumers(env);
    const picked = topic === undefined ? specs : specs.filter((spec) => spec.topic === topic);
    if (picked.length === 0) throw new AppError("not_found", `The ${service} service consumes no topic ${topic}.`);
    return { namespace, specs: picked };
  };
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
      request: { query: topicQuery },
      ...common,
      responses: answer,
    }),
    async (c) => {
      const { topic } = c.req.valid("query");
      const { namespace, specs } = chosen(c.env, topic);
      await stopConsumerObjects(namespace, specs);
      c.var.log.warn("consumers stopped by an operator", { service, topics: specs.map((spec) => spec.topic) });
      return c.json(await statuses(c.env), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: `${path}/start`,
      summary: `Operator: start the ${service} service's consumers again (from the committed offsets)`,
      request: { query: topicQuery },
      ...common,
      responses: answer,
    }),
    async (c) => {
      const { topic } = c.req.valid("query");
      const { namespace, specs } = chosen(c.env, topic);
      await startConsumerObjects(namespace, specs, { resume: true });
      c.var.log.info("consumers started by an operator", { service, topics: specs.map((spec) => spec.topic) });
      return c.json(await statuses(c.env), 200);
    },
  );
}
