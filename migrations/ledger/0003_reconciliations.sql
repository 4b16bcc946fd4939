CREATE TABLE "ledger"."reconciliations" (
	"id" text PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"actor" text,
	"started_at" timestamp (3) with time zone NOT NULL,
	"finished_at" timestamp (3) with time zone NOT NULL,
	"accounts_checked" integer NOT NULL,
	"mismatch_count" integer NOT NULL,
	"mismatches" jsonb NOT NULL,
	CONSTRAINT "reconciliations_trigger_known" CHECK ("ledger"."reconciliations"."trigger" in ('cron', 'auditor')),
	CONSTRAINT "reconciliations_counts_consistent" CHECK ("ledger"."reconciliations"."mismatch_count" = jsonb_array_length("ledger"."reconciliations"."mismatches"))
);
--> statement-breakpoint
CREATE INDEX "reconciliations_started_idx" ON "ledger"."reconciliations" USING btree ("started_at");--> statement-breakpoint
REVOKE ALL ON "ledger"."reconciliations" FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT, INSERT ON "ledger"."reconciliations" TO edgebank_ledger_writer;
