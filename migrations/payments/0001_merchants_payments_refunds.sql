CREATE TABLE "payments"."idempotency_records" (
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"resource_id" text NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_records_pk" PRIMARY KEY("principal","key")
);
--> statement-breakpoint
CREATE TABLE "payments"."merchants" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"name" text NOT NULL,
	"account_id" text NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "merchants_account_uq" UNIQUE("account_id")
);
--> statement-breakpoint
CREATE TABLE "payments"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"aggregate_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"traceparent" text
);
--> statement-breakpoint
CREATE TABLE "payments"."payments" (
	"id" text PRIMARY KEY NOT NULL,
	"payer_id" text NOT NULL,
	"payer_account_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"merchant_owner_id" text NOT NULL,
	"merchant_account_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"reference" text NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"step" text DEFAULT 'authorize' NOT NULL,
	"failure_reason" text,
	"refunded_amount" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "payments_amount_positive" CHECK ("payments"."payments"."amount" > 0),
	CONSTRAINT "payments_refunds_within_amount" CHECK ("payments"."payments"."refunded_amount" >= 0 and "payments"."payments"."refunded_amount" <= "payments"."payments"."amount")
);
--> statement-breakpoint
CREATE TABLE "payments"."refunds" (
	"id" text PRIMARY KEY NOT NULL,
	"payment_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"reason" text NOT NULL,
	"requested_by" text NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"step" text DEFAULT 'debit' NOT NULL,
	"failure_reason" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "refunds_amount_positive" CHECK ("payments"."refunds"."amount" > 0)
);
--> statement-breakpoint
ALTER TABLE "payments"."payments" ADD CONSTRAINT "payments_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "payments"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments"."refunds" ADD CONSTRAINT "refunds_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "payments"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "merchants_owner_idx" ON "payments"."merchants" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "payments"."outbox" USING btree ("created_at") WHERE "payments"."outbox"."published_at" is null;--> statement-breakpoint
CREATE INDEX "payments_payer_idx" ON "payments"."payments" USING btree ("payer_id","id");--> statement-breakpoint
CREATE INDEX "payments_merchant_idx" ON "payments"."payments" USING btree ("merchant_id","id");--> statement-breakpoint
CREATE INDEX "payments_pending_idx" ON "payments"."payments" USING btree ("updated_at") WHERE "payments"."payments"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "refunds_payment_idx" ON "payments"."refunds" USING btree ("payment_id","id");--> statement-breakpoint
CREATE INDEX "refunds_pending_idx" ON "payments"."refunds" USING btree ("updated_at") WHERE "payments"."refunds"."status" = 'PENDING';