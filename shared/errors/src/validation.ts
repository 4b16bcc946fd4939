import type { z } from "zod";
import { AppError } from "./app-error.ts";

/** One failed field of a request, rendered in the `errors` extension member. */
export interface FieldError {
  /** JSON Pointer (RFC 6901) to the offending member, relative to `in`. */
  pointer: string;
  /** Where the member was: body, query, path (param), header or cookie. */
  in: string;
  message: string;
  code: string;
}

function pointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((segment) => `/${String(segment).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * Converts a zod failure into a `validation_failed` AppError that lists every failed member,
 * so zod errors reach the client through the same renderer as every other error.
 */
export function validationError(error: z.ZodError, location: string): AppError {
  const errors: FieldError[] = error.issues.map((issue) => ({
    pointer: pointer(issue.path),
    in: location,
    message: issue.message,
    code: issue.code,
  }));
  const count = errors.length === 1 ? "1 field is" : `${errors.length} fields are`;
  return new AppError("validation_failed", `The request ${location} is invalid: ${count} invalid.`, {
    extensions: { errors },
  });
}
