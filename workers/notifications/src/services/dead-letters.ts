import { redriveDeadLetter } from "@edgebank/consumer";
import type { Database } from "@edgebank/db";
import { AppError } from "@edgebank/errors";
import { consumers } from "../consumers.ts";
import { findDeadLetterOrigin } from "../repo/dead-letters.ts";

/**
 * Hands a dead letter back to the consumer it came from, once. A letter that still fails stays
 * waiting (422 with the error as its reason); one already redriven is a conflict. What it
 * applied goes to its users' open streams too.
 */
export async function redrive(
  ctx: { db: Database; env: object },
  id: string,
  actor: string,
): Promise<{ outcome: "applied" | "already_applied"; eventId: string | null }> {
  const row = await findDeadLetterOrigin(ctx.db, id);
  const spec = row && consumers(ctx.env).find((s) => s.group === row.consumer && s.topic === row.topic);
  if (!row || !spec) throw new AppError("not_found", "Dead letter does not exist.");
  let result: Awaited<ReturnType<typeof redriveDeadLetter>>;
  try {
    result = await redriveDeadLetter(ctx.db, spec, id, actor);
  } catch (error) {
    throw new AppError("unprocessable", "The event still fails; the dead letter stays waiting.", {
      extensions: { reason: error instanceof Error ? error.message : String(error) },
      cause: error,
    });
  }
  if (result.status === "not_found") throw new AppError("not_found", "Dead letter does not exist.");
  if (result.status === "already_redriven") throw new AppError("conflict", "This dead letter was already redriven.");
  if (result.status === "not_applicable") {
    throw new AppError("unprocessable", "The record is not an event this consumer applies; it cannot be redriven.");
  }
  return { outcome: result.status, eventId: row.eventId };
}
