ALTER TABLE "accounts"."operations" DROP CONSTRAINT "operations_kind_known";--> statement-breakpoint
ALTER TABLE "accounts"."operations" ADD COLUMN "details" jsonb;--> statement-breakpoint
ALTER TABLE "accounts"."operations" ADD COLUMN "actor" text;--> statement-breakpoint
ALTER TABLE "accounts"."operations" ADD CONSTRAINT "operations_operator_action_has_actor" CHECK ("accounts"."operations"."kind" not in ('set_status', 'set_credit_limit') or "accounts"."operations"."actor" is not null);--> statement-breakpoint
ALTER TABLE "accounts"."operations" ADD CONSTRAINT "operations_kind_known" CHECK ("accounts"."operations"."kind" in ('credit', 'debit', 'hold', 'capture', 'release', 'set_status', 'set_credit_limit'));