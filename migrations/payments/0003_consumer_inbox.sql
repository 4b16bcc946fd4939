CREATE TABLE "payments"."dead_letters" (
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
CREATE TABLE "payments"."inbox" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"handled_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE INDEX "dead_letters_waiting_idx" ON "payments"."dead_letters" USING btree ("dead_at") WHERE "payments"."dead_letters"."redriven_at" is null;