import { AppError } from "@edgebank/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { baseVars, bindingWith, booleanVar, defineConfig, listVar } from "../src/index.ts";

afterEach(() => vi.restoreAllMocks());

const schema = baseVars.extend({ DB: bindingWith("connectionString"), FLAG: booleanVar.default(false) });

describe("listVar", () => {
  it("reads a comma-separated var as trimmed, non-empty items; unset is the empty list", () => {
    expect(listVar.parse(" edgebank-app, edgebank-probe ,,")).toEqual(["edgebank-app", "edgebank-probe"]);
    expect(listVar.parse("")).toEqual([]);
    expect(listVar.parse(undefined)).toEqual([]);
  });
});

describe("defineConfig", () => {
  it("parses vars into typed values with defaults", () => {
    const config = defineConfig(schema)({
      DB: { connectionString: "postgres://x" },
      MAX_BODY_BYTES: "1024",
      FLAG: "true",
    });
    expect(config.ENVIRONMENT).toBe("development");
    expect(config.MAX_BODY_BYTES).toBe(1024);
    expect(config.FLAG).toBe(true);
  });

  it("validates an env object once and reuses the result", () => {
    const spy = vi.spyOn(schema, "safeParse");
    const read = defineConfig(schema);
    const env = { DB: { connectionString: "postgres://x" } };
    expect(read(env)).toBe(read(env));
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("names the invalid keys but never their values", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const read = defineConfig(schema);
    let error: unknown;
    try {
      read({ DB: "not a binding", MAX_BODY_BYTES: "super-secret-value" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).message).toBe("Worker configuration is invalid: MAX_BODY_BYTES, DB.");
    expect((error as AppError).message).not.toContain("super-secret-value");
    expect(console.error).toHaveBeenCalledOnce();
  });

  it("refuses values outside an enum", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => defineConfig(z.object({ FLAG: booleanVar }))({ FLAG: "yes" })).toThrow("FLAG");
  });
});
