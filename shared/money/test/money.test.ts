import { describe, expect, it } from "vitest";
import {
  add,
  compare,
  exponentOf,
  formatDecimal,
  isCurrency,
  isPositive,
  MAX_MINOR_UNITS,
  MoneyError,
  money,
  parseDecimal,
  subtract,
  toMinorUnitsString,
} from "../src/index.ts";

describe("currencies", () => {
  it("knows ISO 4217 exponents", () => {
    expect(exponentOf("USD")).toBe(2);
    expect(exponentOf("JPY")).toBe(0);
    expect(exponentOf("KWD")).toBe(3);
  });

  it("accepts only exact upper-case supported codes", () => {
    expect(isCurrency("EUR")).toBe(true);
    expect(isCurrency("eur")).toBe(false);
    expect(isCurrency("XXX")).toBe(false);
    expect(isCurrency("toString")).toBe(false);
  });
});

describe("money", () => {
  it("takes bigints, safe integers and canonical integer strings", () => {
    expect(money(1050n, "USD")).toEqual({ amount: 1050n, currency: "USD" });
    expect(money(1050, "USD").amount).toBe(1050n);
    expect(money("1050", "USD").amount).toBe(1050n);
    expect(money("-7", "USD").amount).toBe(-7n);
    expect(money("9223372036854775807", "USD").amount).toBe(MAX_MINOR_UNITS);
  });

  it("refuses floats, unsafe integers, non-canonical strings and unknown currencies", () => {
    expect(() => money(10.5, "USD")).toThrow(MoneyError);
    expect(() => money(2 ** 53, "USD")).toThrow(MoneyError);
    expect(() => money("10.50", "USD")).toThrow(MoneyError);
    expect(() => money("007", "USD")).toThrow(MoneyError);
    expect(() => money("1e3", "USD")).toThrow(MoneyError);
    expect(() => money(" 1", "USD")).toThrow(MoneyError);
    expect(() => money("9223372036854775808", "USD")).toThrow("out of range");
    expect(() => money(1, "usd")).toThrow('Unsupported currency "usd"');
  });
});

describe("parseDecimal and formatDecimal", () => {
  it.each([
    ["10.50", "USD", 1050n],
    ["10.5", "USD", 1050n],
    ["10", "USD", 1000n],
    ["0.01", "USD", 1n],
    ["-0.01", "USD", -1n],
    ["1500", "JPY", 1500n],
    ["1.234", "KWD", 1234n],
  ])("parses %s %s as %s minor units", (text, currency, minor) => {
    expect(parseDecimal(text, currency).amount).toBe(minor);
  });

  it("refuses more decimals than the currency has instead of rounding", () => {
    expect(() => parseDecimal("10.501", "USD")).toThrow("USD has 2 decimal places");
    expect(() => parseDecimal("1.5", "JPY")).toThrow("JPY has 0 decimal places");
  });

  it("refuses anything that is not a plain decimal", () => {
    for (const text of ["", ".5", "5.", "1,000.00", "+1", "1e2", "NaN", "0x10", "01.00"]) {
      expect(() => parseDecimal(text, "USD"), text).toThrow(MoneyError);
    }
  });

  it.each([
    [1050n, "USD", "10.50"],
    [5n, "USD", "0.05"],
    [-5n, "USD", "-0.05"],
    [0n, "USD", "0.00"],
    [1500n, "JPY", "1500"],
    [1n, "KWD", "0.001"],
  ] as const)("formats %s %s as %s", (amount, currency, text) => {
    expect(formatDecimal({ amount, currency })).toBe(text);
  });

  it("round-trips exactly at the edge of the bigint range", () => {
    const max = { amount: MAX_MINOR_UNITS, currency: "USD" } as const;
    expect(parseDecimal(formatDecimal(max), "USD")).toEqual(max);
    expect(toMinorUnitsString(max)).toBe("9223372036854775807");
  });
});

describe("arithmetic", () => {
  const usd = (n: bigint) => money(n, "USD");

  it("adds, subtracts and compares within one currency", () => {
    expect(add(usd(5n), usd(7n)).amount).toBe(12n);
    expect(subtract(usd(5n), usd(7n)).amount).toBe(-2n);
    expect(compare(usd(5n), usd(7n))).toBe(-1);
    expect(compare(usd(7n), usd(7n))).toBe(0);
    expect(isPositive(usd(1n))).toBe(true);
    expect(isPositive(usd(0n))).toBe(false);
  });

  it("never mixes currencies", () => {
    expect(() => add(usd(1n), money(1n, "EUR"))).toThrow("Currency mismatch: USD and EUR.");
    expect(() => compare(usd(1n), money(1n, "EUR"))).toThrow(MoneyError);
  });

  it("refuses results outside the bigint range", () => {
    expect(() => add(usd(MAX_MINOR_UNITS), usd(1n))).toThrow("out of range");
  });
});
