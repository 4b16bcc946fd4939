export { AppError, type AppErrorOptions, isAppError, type ProblemExtensions } from "./app-error.ts";
export { type ErrorCode, errorCodes, PROBLEM_TYPE_BASE, problemType } from "./codes.ts";
export {
  PROBLEM_CONTENT_TYPE,
  type ProblemContext,
  type ProblemDocument,
  problemResponse,
  toProblem,
} from "./problem.ts";
export { type FieldError, validationError } from "./validation.ts";
