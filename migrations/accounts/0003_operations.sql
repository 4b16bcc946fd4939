CREATE TABLE "accounts"."holds" (
	"account_id" text NOT NULL,
	"hold_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "holds_account_id_hold_id_pk" PRIMARY KEY("account_id","hold_id"),
	CONSTRAINT "holds_amount_positive" CHECK ("accounts"."holds"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "accounts"."operations" (
	"id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"operation_id" text NOT NULL,
	"kind" text NOT NULL,
	"amount" bigint,
	"hold_id" text,
	"fingerprint" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"posted_after" bigint NOT NULL,
	"pending_after" bigint NOT NULL,
	"available_after" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operations_kind_known" CHECK ("accounts"."operations"."kind" in ('credit', 'debit', 'hold', 'capture', 'release')),
	CONSTRAINT "operations_status_known" CHECK ("accounts"."operations"."status" in ('applied', 'refused')),
	CONSTRAINT "operations_amount_positive" CHECK ("accounts"."operations"."amount" is null or "accounts"."operations"."amount" > 0),
	CONSTRAINT "operations_refusal_has_reason" CHECK (("accounts"."operations"."status" = 'refused') = ("accounts"."operations"."reason" is not null))
);
--> statement-breakpoint
CREATE TABLE "accounts"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"aggregate_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "accounts"."holds" ADD CONSTRAINT "holds_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "accounts"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts"."operations" ADD CONSTRAINT "operations_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "accounts"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "operations_account_operation_key" ON "accounts"."operations" USING btree ("account_id","operation_id");--> statement-breakpoint
CREATE INDEX "operations_statement_idx" ON "accounts"."operations" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "accounts"."outbox" USING btree ("created_at") WHERE "accounts"."outbox"."published_at" is null;