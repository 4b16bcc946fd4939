CREATE TABLE "delivery"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"aggregate_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"traceparent" text
);
--> statement-breakpoint
CREATE TABLE "delivery"."rollouts" (
	"id" text PRIMARY KEY NOT NULL,
	"service" text NOT NULL,
	"worker" text NOT NULL,
	"stable_version_id" text NOT NULL,
	"canary_version_id" text NOT NULL,
	"status" text NOT NULL,
	"canary_percentage" integer NOT NULL,
	"state" jsonb NOT NULL,
	"revision" integer DEFAULT 0 NOT NULL,
	"started_by" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "delivery"."outbox" USING btree ("created_at") WHERE "delivery"."outbox"."published_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "rollouts_one_under_way_per_worker" ON "delivery"."rollouts" USING btree ("worker") WHERE "delivery"."rollouts"."status" in ('PROBING', 'STEPPING', 'PAUSED');--> statement-breakpoint
CREATE INDEX "rollouts_created_idx" ON "delivery"."rollouts" USING btree ("created_at");