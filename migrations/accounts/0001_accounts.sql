CREATE TABLE "accounts"."accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"kind" text DEFAULT 'customer' NOT NULL,
	"name" text,
	"currency" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"posted_balance" bigint DEFAULT 0 NOT NULL,
	"pending_balance" bigint DEFAULT 0 NOT NULL,
	"credit_limit" bigint DEFAULT 0 NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "accounts_kind_known" CHECK ("accounts"."accounts"."kind" in ('customer', 'system')),
	CONSTRAINT "accounts_status_known" CHECK ("accounts"."accounts"."status" in ('active', 'frozen', 'closed')),
	CONSTRAINT "accounts_currency_iso" CHECK ("accounts"."accounts"."currency" ~ '^[A-Z]{3}$'),
	CONSTRAINT "accounts_pending_non_negative" CHECK ("accounts"."accounts"."pending_balance" >= 0),
	CONSTRAINT "accounts_credit_limit_non_negative" CHECK ("accounts"."accounts"."credit_limit" >= 0),
	CONSTRAINT "accounts_available_non_negative" CHECK ("accounts"."accounts"."kind" = 'system' or "accounts"."accounts"."posted_balance" - "accounts"."accounts"."pending_balance" + "accounts"."accounts"."credit_limit" >= 0)
);
--> statement-breakpoint
CREATE INDEX "accounts_owner_idx" ON "accounts"."accounts" USING btree ("owner_id","id");