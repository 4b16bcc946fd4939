import { type Currency, exponentOf, isCurrency } from "./currency.ts";

/** An amount in integer minor units of one currency. Never a float. */
export interface Money {
  readonly amount: bigint;
  readonly currency: Currency;
}

/** Thrown for any amount or currency the platform refuses; callers map it to a 400/422. */
export class MoneyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MoneyError";
  }
}

/** Largest magnitude accepted in minor units: PostgreSQL bigint range. */
export const MAX_MINOR_UNITS = 9_223_372_036_854_775_807n;

const minorUnitsPattern = /^-?(0|[1-9][0-9]*)$/;
const decimalPattern = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

function checkCurrency(currency: string): Currency {
  if (!isCurrency(currency)) throw new MoneyError(`Unsupported currency "${currency}".`);
  return currency;
}

function checkRange(amount: bigint): bigint {
  if (amount > MAX_MINOR_UNITS || amount < -MAX_MINOR_UNITS) {
    throw new MoneyError("Amount is out of range.");
  }
  return amount;
}

/**
 * Money from minor units given as a bigint, a safe integer, or a canonical decimal-integer
 * string ("1050" = 10.50 USD). Floats, unsafe integers and non-canonical strings are refused.
 */
export function money(amount: bigint | number | string, currency: string): Money {
  const code = checkCurrency(currency);
  if (typeof amount === "bigint") return { amount: checkRange(amount), currency: code };
  if (typeof amount === "number") {
    if (!Number.isSafeInteger(amount)) throw new MoneyError("Amount must be a safe integer of minor units.");
    return { amount: BigInt(amount), currency: code };
  }
  if (!minorUnitsPattern.test(amount)) throw new MoneyError(`"${amount}" is not an integer amount of minor units.`);
  return { amount: checkRange(BigInt(amount)), currency: code };
}

/**
 * Parses a major-unit decimal string ("10.50") into minor units. More decimals than the
 * currency has is an error, never a rounding: money is not silently changed.
 */
export function parseDecimal(text: string, currency: string): Money {
  const code = checkCurrency(currency);
  const match = decimalPattern.exec(text);
  if (!match) throw new MoneyError(`"${text}" is not a decimal amount.`);
  const [, sign = "", whole = "0", fraction = ""] = match;
  const exponent = exponentOf(code);
  if (fraction.length > exponent) {
    throw new MoneyError(`${code} has ${exponent} decimal place${exponent === 1 ? "" : "s"}; "${text}" has more.`);
  }
  const minor = BigInt(whole + fraction.padEnd(exponent, "0"));
  return { amount: checkRange(sign === "-" ? -minor : minor), currency: code };
}

/** Formats money as a major-unit decimal string with exactly the currency's decimals ("10.50"). */
export function formatDecimal(value: Money): string {
  const exponent = exponentOf(value.currency);
  const negative = value.amount < 0n;
  const digits = (negative ? -value.amount : value.amount).toString().padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = exponent > 0 ? `.${digits.slice(digits.length - exponent)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/** Minor units as the decimal string used in JSON ("1050"): exact for every bigint. */
export function toMinorUnitsString(value: Money): string {
  return value.amount.toString();
}

function sameCurrency(a: Money, b: Money): Currency {
  if (a.currency !== b.currency) throw new MoneyError(`Currency mismatch: ${a.currency} and ${b.currency}.`);
  return a.currency;
}

/** a + b; both must be in the same currency. */
export function add(a: Money, b: Money): Money {
  return { amount: checkRange(a.amount + b.amount), currency: sameCurrency(a, b) };
}

/** a − b; both must be in the same currency. */
export function subtract(a: Money, b: Money): Money {
  return { amount: checkRange(a.amount - b.amount), currency: sameCurrency(a, b) };
}

/** Compares two amounts of the same currency: −1, 0 or 1. */
export function compare(a: Money, b: Money): -1 | 0 | 1 {
  sameCurrency(a, b);
  return a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0;
}

/** Whether the amount is strictly positive (what a transfer or payment must carry). */
export function isPositive(value: Money): boolean {
  return value.amount > 0n;
}
