import { readFileSync } from "node:fs";
import { z } from "zod";

const hex32 = z.string().regex(/^[0-9a-f]{32}$/, "a Hyperdrive id is 32 hexadecimal characters");
const https = z.url({ protocol: /^https$/ });

/** One deployed environment: everything that differs from local development, none of it secret. */
export const environmentSchema = z.object({
  /** The issuer and the base clients call (the gateway's custom domain). */
  publicBaseUrl: https,
  /** The Cloudflare account the environment's Workers run in (the rollout controller steers them there). */
  cloudflareAccountId: z.string().regex(/^[0-9a-f]{32}$/),
  /** The gateway's custom domain; internal services have no route. */
  gatewayDomain: z.string().regex(/^[a-z0-9.-]+$/),
  corsOrigins: z.array(https).min(1),
  kafka: z.object({ restUrl: https, clusterId: z.string().min(1) }),
  otlpEndpoint: https,
  tracesSampleRate: z.string().regex(/^(0(\.\d+)?|1)$/),
  sentryDsn: https,
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  /** The Hyperdrive configuration in front of each service's database, per service. */
  hyperdrive: z.record(z.string(), hex32),
});

export type Environment = z.infer<typeof environmentSchema>;

export const environmentNames = ["staging", "production"] as const;
export type EnvironmentName = (typeof environmentNames)[number];

const fileSchema = z.object(Object.fromEntries(environmentNames.map((name) => [name, environmentSchema])));

export const environmentsFile = new URL("../environments.json", import.meta.url);

/** The deployed environments, validated (a wrong value names its path). */
export function readEnvironments(file: URL = environmentsFile): Record<EnvironmentName, Environment> {
  const { $comment: _, ...raw } = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  return fileSchema.parse(raw) as Record<EnvironmentName, Environment>;
}

/** A Worker's name in an environment (wrangler's own rule: `<name>-<environment>`). */
export const workerName = (base: string, environment: EnvironmentName) => `${base}-${environment}`;
