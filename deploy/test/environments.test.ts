import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";
import { allServices } from "../../dev/services.ts";
import { environmentNames, readEnvironments } from "../config/environments.ts";
import { type BaseConfig, renderEnvironments, withEnvironments } from "../config/render.ts";

const root = new URL("../../", import.meta.url);
const environments = readEnvironments();

describe("the deployed environments of every Worker", () => {
  it.each(allServices.map((service) => [service.name, service.config]))(
    "%s: its wrangler.toml holds the blocks deploy/environments.json gives",
    async (name, config) => {
      const current = await readFile(new URL(config, root), "utf8");
      const { rawConfig } = experimental_readRawConfig({ config: new URL(config, root).pathname });
      const blocks = renderEnvironments(rawConfig as unknown as BaseConfig, environments, {
        service: name,
        gateway: name === "gateway",
      });
      expect(withEnvironments(current, blocks), "stale: run npm run environments").toBe(current);
    },
  );

  it.each(
    allServices.flatMap((service) => environmentNames.map((env) => [service.name, env, service.config] as const)),
  )("%s in %s: its own bindings, no local address, the gateway alone routed", (name, env, config) => {
    const resolved = unstable_readConfig({ config: new URL(config, root).pathname, env }, { hideWarnings: true });
    expect(resolved.name).toBe(`edgebank-${name}-${env}`);
    expect(resolved.workers_dev).toBe(false);
    expect(resolved.vars.ENVIRONMENT).toBe(env);
    // Every Worker that verifies tokens names the environment's issuer (the web app's files verify none).
    if (name !== "web") expect(resolved.vars.TOKEN_ISSUER).toBe(environments[env].publicBaseUrl);
    expect(JSON.stringify(resolved.vars)).not.toMatch(/127\.0\.0\.1|localhost/);
    for (const service of resolved.services ?? []) expect(service.service).toMatch(new RegExp(`-${env}$`));
    for (const hyperdrive of resolved.hyperdrive) {
      expect(hyperdrive.id).toBe(environments[env].hyperdrive[name]);
      expect(hyperdrive.localConnectionString).toBeUndefined();
    }
    // Durable Objects are the Worker's own in each environment (their migrations inherited).
    const top = unstable_readConfig({ config: new URL(config, root).pathname }, { hideWarnings: true });
    const classes = (bindings: { class_name: string }[]) => bindings.map((binding) => binding.class_name);
    expect(classes(resolved.durable_objects.bindings)).toEqual(classes(top.durable_objects.bindings));
    expect(resolved.migrations).toEqual(top.migrations);
    if (name === "gateway") {
      expect(resolved.routes).toEqual([{ pattern: environments[env].gatewayDomain, custom_domain: true }]);
    } else {
      expect(resolved.routes ?? []).toEqual([]);
    }
    if ("KAFKA_REST_URL" in resolved.vars) {
      expect(resolved.secrets?.required).toEqual(
        expect.arrayContaining(["KAFKA_REST_USERNAME", "KAFKA_REST_PASSWORD"]),
      );
    }
  });

  it("refuses an environment that would send a Worker to a local address", () => {
    const local = { ...environments.staging, otlpEndpoint: "http://127.0.0.1:4318" };
    const base: BaseConfig = { name: "edgebank-x", vars: { OTEL_EXPORTER_OTLP_ENDPOINT: "" } };
    expect(() =>
      renderEnvironments(base, { ...environments, staging: local }, { service: "x", gateway: false }),
    ).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT names a local address/);
  });

  it("refuses a Worker with a database but no Hyperdrive id for it", () => {
    const base: BaseConfig = { name: "edgebank-x", hyperdrive: [{ binding: "X_DB", id: "0".repeat(32) }] };
    expect(() => renderEnvironments(base, environments, { service: "x", gateway: false })).toThrow(
      /staging has no Hyperdrive id for x/,
    );
  });
});
