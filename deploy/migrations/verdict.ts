import { type MigrationReview, reviewMigration } from "./policy.ts";

/** One migration of a service, in the order drizzle-kit's journal gives. */
export interface Migration {
  tag: string;
  /** drizzle-kit's `when` (ms): the migrator applies what is newer than the last applied. */
  when: number;
  sql: string;
}

export interface Verdict {
  service: string;
  tag: string;
  review: MigrationReview;
  /** Why it may not be applied now; empty when it may. */
  refused: string[];
}

/**
 * Judges the migrations of one service that a database has not applied yet (`when` above
 * `appliedUpTo`, 0 for a new database). Additive ones pass. One that takes something away
 * passes only as the contract step of a change whose expand step is already applied: the
 * version running now was deployed after the expand and no longer needs what goes.
 */
export function judgePending(service: string, migrations: Migration[], appliedUpTo: number): Verdict[] {
  const reviews = migrations.map((migration) => ({ migration, review: reviewMigration(migration.sql) }));
  return reviews
    .filter(({ migration }) => migration.when > appliedUpTo)
    .map(({ migration, review }, _, pending) => {
      const refused: string[] = [];
      if (review.refusals.length > 0) {
        const change = review.contracts;
        const expand = change
          ? reviews.find((other) => other.migration.when < migration.when && other.review.expands === change)
          : undefined;
        if (!change) {
          refused.push(
            ...review.refusals.map((refusal) => `${refusal.detail} (${refusal.rule}): ${refusal.statement}`),
            "not additive: make it the contract step of an expand → deploy → backfill → contract change (docs/migrations.md)",
          );
        } else if (!expand) {
          refused.push(`marked as the contract step of "${change}", but no earlier migration is its expand step`);
        } else if (pending.some((other) => other.migration === expand.migration)) {
          refused.push(
            `the contract step of "${change}" cannot go out with its expand step (${expand.migration.tag}): ` +
              "deploy the expand step and the code that stops using what the contract removes first",
          );
        }
      }
      return { service, tag: migration.tag, review, refused };
    });
}
