ALTER TABLE "payments"."payments" ADD COLUMN "order_id" text;--> statement-breakpoint
ALTER TABLE "payments"."payments" ADD CONSTRAINT "payments_order_id_unique" UNIQUE("order_id");