CREATE TABLE "payments"."payment_actions" (
	"id" text PRIMARY KEY NOT NULL,
	"payment_id" text NOT NULL,
	"refund_id" text,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "payments"."payment_actions" ADD CONSTRAINT "payment_actions_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "payments"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments"."payment_actions" ADD CONSTRAINT "payment_actions_refund_id_refunds_id_fk" FOREIGN KEY ("refund_id") REFERENCES "payments"."refunds"("id") ON DELETE no action ON UPDATE no action;