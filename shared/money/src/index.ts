export { type Currency, currencies, exponentOf, isCurrency } from "./currency.ts";
export {
  add,
  compare,
  formatDecimal,
  isPositive,
  MAX_MINOR_UNITS,
  type Money,
  MoneyError,
  money,
  parseDecimal,
  subtract,
  toMinorUnitsString,
} from "./money.ts";
