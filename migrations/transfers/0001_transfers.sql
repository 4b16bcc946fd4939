CREATE TABLE "transfers"."idempotency_records" (
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"transfer_id" text NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_records_principal_key_pk" PRIMARY KEY("principal","key")
);
--> statement-breakpoint
CREATE TABLE "transfers"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"aggregate_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "transfers"."transfer_actions" (
	"id" text PRIMARY KEY NOT NULL,
	"transfer_id" text NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "transfers"."transfers" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"requested_by" text NOT NULL,
	"from_account_id" text NOT NULL,
	"to_account_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"description" text NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "transfers_amount_positive" CHECK ("transfers"."transfers"."amount" > 0),
	CONSTRAINT "transfers_distinct_accounts" CHECK ("transfers"."transfers"."from_account_id" <> "transfers"."transfers"."to_account_id"),
	CONSTRAINT "transfers_currency_iso" CHECK ("transfers"."transfers"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "transfers_status_known" CHECK ("transfers"."transfers"."status" in ('PENDING', 'COMPLETED', 'FAILED', 'NEEDS_ATTENTION')),
	CONSTRAINT "transfers_failed_has_reason" CHECK ("transfers"."transfers"."status" not in ('FAILED', 'NEEDS_ATTENTION') or "transfers"."transfers"."failure_reason" is not null)
);
--> statement-breakpoint
ALTER TABLE "transfers"."transfer_actions" ADD CONSTRAINT "transfer_actions_transfer_id_transfers_id_fk" FOREIGN KEY ("transfer_id") REFERENCES "transfers"."transfers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "transfers"."outbox" USING btree ("created_at") WHERE "transfers"."outbox"."published_at" is null;--> statement-breakpoint
CREATE INDEX "transfers_requester_idx" ON "transfers"."transfers" USING btree ("requested_by","id");--> statement-breakpoint
CREATE INDEX "transfers_status_idx" ON "transfers"."transfers" USING btree ("status","id");