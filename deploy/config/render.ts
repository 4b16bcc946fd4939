import { type Environment, type EnvironmentName, workerName } from "./environments.ts";

/** The top-level wrangler config of a Worker, as far as its environments copy it. */
export interface BaseConfig {
  name: string;
  vars?: Record<string, string>;
  secrets?: { required?: string[] };
  hyperdrive?: { binding: string; id: string }[];
  durable_objects?: { bindings?: { name: string; class_name: string; script_name?: string }[] };
  services?: { binding: string; service: string; entrypoint?: string; props?: Record<string, string> }[];
  analytics_engine_datasets?: { binding: string; dataset: string }[];
  version_metadata?: { binding: string };
}

/** Where the generated blocks start: everything from this line to the end of the file is written. */
export const generatedMarker =
  "# --- Deployed environments: written by `npm run environments` from deploy/environments.json";

const header = [
  generatedMarker,
  "# and the top-level config above. Edit those, not what follows (CI fails when it is stale).",
  "# Bindings and vars are not inherited by wrangler environments: each is repeated here.",
];

/** Credentials a deployed Kafka REST endpoint requires (development's broker needs none). */
const kafkaSecrets = ["KAFKA_REST_USERNAME", "KAFKA_REST_PASSWORD"];

const local = /\b(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\])\b/;

const toml = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (Array.isArray(value)) return `[${value.map(toml).join(", ")}]`;
  if (value && typeof value === "object") {
    return `{ ${Object.entries(value)
      .map(([key, inner]) => `${key} = ${toml(inner)}`)
      .join(", ")} }`;
  }
  throw new Error(`cannot write ${String(value)} as TOML`);
};

const table = (name: string, entries: Record<string, unknown>, array = false) => [
  "",
  array ? `[[${name}]]` : `[${name}]`,
  ...Object.entries(entries)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} = ${toml(value)}`),
];

/** The vars of a Worker in a deployed environment: its own, with what the environment decides. */
export function environmentVars(base: BaseConfig, name: EnvironmentName, env: Environment): Record<string, string> {
  const vars = { ...(base.vars ?? {}) };
  const set = (key: string, value: string, onlyIfPresent = true) => {
    if (!onlyIfPresent || key in vars) vars[key] = value;
  };
  set("ENVIRONMENT", name, false);
  set("LOG_LEVEL", env.logLevel);
  set("OTEL_EXPORTER_OTLP_ENDPOINT", env.otlpEndpoint);
  set("OTEL_TRACES_SAMPLER_ARG", env.tracesSampleRate);
  set("ANALYTICS_ENGINE_SINK_URL", "");
  set("SENTRY_DSN", env.sentryDsn);
  set("TOKEN_ISSUER", env.publicBaseUrl);
  // Apps sign in with the authorization code flow and PKCE; only the probes use passwords.
  set("PASSWORD_GRANT_CLIENTS", "edgebank-probe");
  set("KAFKA_REST_URL", env.kafka.restUrl);
  set("KAFKA_CLUSTER_ID", env.kafka.clusterId);
  set("CORS_ORIGINS", env.corsOrigins.join(","));
  set("WEBHOOK_ALLOW_INSECURE", "false");
  // The rollout controller: the environment's account, its Workers' names and metrics dataset.
  set("CLOUDFLARE_API_BASE_URL", "https://api.cloudflare.com/client/v4");
  set("CLOUDFLARE_ACCOUNT_ID", env.cloudflareAccountId);
  set("WORKER_NAME_SUFFIX", `-${name}`);
  if (vars.METRICS_DATASET) set("METRICS_DATASET", `${vars.METRICS_DATASET}_${name}`);
  for (const [key, value] of Object.entries(vars)) {
    if (local.test(value)) throw new Error(`${base.name}: ${key} names a local address (${value}) in ${name}`);
  }
  return vars;
}

/** The secrets a Worker needs in a deployed environment. */
export function environmentSecrets(base: BaseConfig): string[] {
  const required = [...(base.secrets?.required ?? [])];
  if (base.vars && "KAFKA_REST_URL" in base.vars) required.push(...kafkaSecrets);
  return required;
}

/**
 * The `[env.<name>]` blocks of one Worker. `service` is its name in deploy/environments.json's
 * Hyperdrive map (the gateway owns no database); `gateway` gives it the custom domain, the only
 * route of the platform.
 */
export function renderEnvironments(
  base: BaseConfig,
  environments: Record<EnvironmentName, Environment>,
  options: { service: string; gateway: boolean },
): string {
  const lines = [...header];
  for (const [name, env] of Object.entries(environments) as [EnvironmentName, Environment][]) {
    const prefix = `env.${name}`;
    lines.push(
      ...table(prefix, {
        workers_dev: false,
        preview_urls: false,
        ...(options.gateway ? { routes: [{ pattern: env.gatewayDomain, custom_domain: true }] } : {}),
      }),
      ...table(`${prefix}.vars`, environmentVars(base, name, env)),
      ...table(`${prefix}.secrets`, { required: environmentSecrets(base) }),
    );
    for (const hyperdrive of base.hyperdrive ?? []) {
      const id = env.hyperdrive[options.service];
      if (!id) throw new Error(`deploy/environments.json: ${name} has no Hyperdrive id for ${options.service}`);
      lines.push(...table(`${prefix}.hyperdrive`, { binding: hyperdrive.binding, id }, true));
    }
    for (const binding of base.durable_objects?.bindings ?? []) {
      const script = binding.script_name ? workerName(binding.script_name, name) : undefined;
      lines.push(
        ...table(
          `${prefix}.durable_objects.bindings`,
          { name: binding.name, class_name: binding.class_name, script_name: script },
          true,
        ),
      );
    }
    for (const service of base.services ?? []) {
      lines.push(
        ...table(
          `${prefix}.services`,
          {
            binding: service.binding,
            service: workerName(service.service, name),
            entrypoint: service.entrypoint,
            props: service.props,
          },
          true,
        ),
      );
    }
    for (const dataset of base.analytics_engine_datasets ?? []) {
      lines.push(
        ...table(
          `${prefix}.analytics_engine_datasets`,
          { binding: dataset.binding, dataset: `${dataset.dataset}_${name}` },
          true,
        ),
      );
    }
    if (base.version_metadata) lines.push(...table(`${prefix}.version_metadata`, base.version_metadata));
  }
  return `${lines.join("\n")}\n`;
}

/** A wrangler.toml with its generated blocks replaced (or appended). */
export function withEnvironments(toml: string, blocks: string): string {
  const at = toml.indexOf(generatedMarker);
  const own = (at === -1 ? toml : toml.slice(0, at)).trimEnd();
  return `${own}\n\n${blocks}`;
}
