import { AppError } from "@edgebank/errors";
import { telemetryVars } from "@edgebank/telemetry";
import { z } from "zod";

/**
 * Vars every worker has, whatever its service. Workers extend this with their own bindings.
 * Values arrive as strings from wrangler `[vars]`, `.dev.vars` and secrets, so booleans and
 * numbers are parsed here, once, instead of in every handler.
 */
export const baseVars = z
  .object({
    ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).default("development"),
    SERVICE_VERSION: z.string().min(1).default("dev"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    MAX_BODY_BYTES: z.coerce.number().int().positive().max(10_485_760).default(65_536),
  })
  .extend(telemetryVars.shape);

/** The string "true" or "false" from an env var, as a boolean. */
export const booleanVar = z.enum(["true", "false"]).transform((value) => value === "true");

/** A comma-separated env var as its trimmed, non-empty items ("" is the empty list). */
export const listVar = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  );

/** Schema of a binding that must be an object exposing the named members (a Hyperdrive, a Fetcher…). */
export function bindingWith<const K extends string>(...members: K[]) {
  return z.custom<Record<K, unknown>>(
    (value) => typeof value === "object" && value !== null && members.every((member) => member in value),
    { message: `expected a binding with ${members.join(", ")}` },
  );
}

/**
 * Builds the config reader of a worker: the env is validated against `schema` the first time
 * it is seen and the parsed result is reused for as long as the isolate keeps that env object.
 * An invalid config fails every request with a 500 that names the offending keys (never their
 * values, which may be secrets); the detail is logged once.
 */
export function defineConfig<S extends z.ZodType>(schema: S): (env: unknown) => z.output<S> {
  const cache = new WeakMap<object, z.output<S>>();
  return (env) => {
    const key = typeof env === "object" && env !== null ? env : {};
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const result = schema.safeParse(env);
    if (!result.success) {
      const keys = [...new Set(result.error.issues.map((issue) => issue.path.join(".") || "(root)"))];
      console.error(JSON.stringify({ level: "error", msg: "invalid worker configuration", keys }));
      throw new AppError("internal", `Worker configuration is invalid: ${keys.join(", ")}.`);
    }
    cache.set(key, result.data);
    return result.data;
  };
}
