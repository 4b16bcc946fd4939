CREATE TABLE "inventory"."products" (
	"sku" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"price" bigint NOT NULL,
	"currency" text NOT NULL,
	"merchant_id" text NOT NULL,
	"owner_id" text NOT NULL,
	"on_hand" integer DEFAULT 0 NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "products_sku_format" CHECK ("inventory"."products"."sku" ~ '^[A-Z0-9][A-Z0-9._-]{0,63}$'),
	CONSTRAINT "products_price_positive" CHECK ("inventory"."products"."price" > 0),
	CONSTRAINT "products_stock_consistent" CHECK ("inventory"."products"."reserved" >= 0 and "inventory"."products"."on_hand" >= "inventory"."products"."reserved")
);
--> statement-breakpoint
CREATE TABLE "inventory"."reservation_items" (
	"reservation_id" text NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "reservation_items_pk" PRIMARY KEY("reservation_id","sku"),
	CONSTRAINT "reservation_items_quantity_positive" CHECK ("inventory"."reservation_items"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "inventory"."reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_order_id_unique" UNIQUE("order_id")
);
--> statement-breakpoint
CREATE TABLE "inventory"."restocks" (
	"id" text PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"quantity" integer NOT NULL,
	"actor" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inventory"."reservation_items" ADD CONSTRAINT "reservation_items_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "inventory"."reservations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inventory"."reservation_items" ADD CONSTRAINT "reservation_items_sku_products_sku_fk" FOREIGN KEY ("sku") REFERENCES "inventory"."products"("sku") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inventory"."restocks" ADD CONSTRAINT "restocks_sku_products_sku_fk" FOREIGN KEY ("sku") REFERENCES "inventory"."products"("sku") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "products_merchant_idx" ON "inventory"."products" USING btree ("merchant_id");--> statement-breakpoint
CREATE INDEX "reservations_held_idx" ON "inventory"."reservations" USING btree ("expires_at") WHERE "inventory"."reservations"."status" = 'HELD';