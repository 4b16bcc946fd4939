/**
 * ISO 4217 currencies the platform can hold, with their minor-unit exponent (the number of
 * decimal places of the minor unit: 2 for USD cents, 0 for JPY, 3 for KWD).
 *
 * The list is deliberately closed: a currency is added here, reviewed, and only then accepted.
 */
export const currencies = {
  AUD: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  INR: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PLN: 2,
  SEK: 2,
  SGD: 2,
  TND: 3,
  USD: 2,
  ZAR: 2,
} as const satisfies Record<string, 0 | 2 | 3>;

/** An ISO 4217 alphabetic code the platform supports. */
export type Currency = keyof typeof currencies;

/** Whether `code` is a supported ISO 4217 currency (exact, upper case). */
export function isCurrency(code: string): code is Currency {
  return Object.hasOwn(currencies, code);
}

/** The minor-unit exponent of a currency. */
export function exponentOf(currency: Currency): number {
  return currencies[currency];
}
