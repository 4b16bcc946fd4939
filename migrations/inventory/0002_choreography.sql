CREATE TABLE "inventory"."dead_letters" (
	"id" text PRIMARY KEY NOT NULL,
	"consumer" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"offset" bigint NOT NULL,
	"event_id" text,
	"type" text,
	"key" jsonb,
	"value" jsonb,
	"error" text NOT NULL,
	"attempts" integer NOT NULL,
	"dead_at" timestamp with time zone DEFAULT now() NOT NULL,
	"redriven_at" timestamp with time zone,
	"redriven_by" text,
	CONSTRAINT "dead_letters_record_uq" UNIQUE("consumer","topic","partition","offset")
);
--> statement-breakpoint
CREATE TABLE "inventory"."inbox" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"handled_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "inventory"."order_requests" (
	"order_id" text PRIMARY KEY NOT NULL,
	"lines" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inventory"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"aggregate_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"traceparent" text
);
--> statement-breakpoint
CREATE INDEX "dead_letters_waiting_idx" ON "inventory"."dead_letters" USING btree ("dead_at") WHERE "inventory"."dead_letters"."redriven_at" is null;--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "inventory"."outbox" USING btree ("created_at") WHERE "inventory"."outbox"."published_at" is null;