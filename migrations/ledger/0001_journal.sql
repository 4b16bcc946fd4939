CREATE TABLE "ledger"."checkpoints" (
	"sequence" bigint PRIMARY KEY NOT NULL,
	"hash" text NOT NULL,
	"key_id" text NOT NULL,
	"signature" text NOT NULL,
	"signed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "checkpoints_hash_hex" CHECK ("ledger"."checkpoints"."hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "ledger"."entries" (
	"sequence" bigint PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"transfer_id" text NOT NULL,
	"description" text NOT NULL,
	"recorded_at" timestamp (3) with time zone NOT NULL,
	"previous_hash" text NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "entries_id_unique" UNIQUE("id"),
	CONSTRAINT "entries_transfer_id_unique" UNIQUE("transfer_id"),
	CONSTRAINT "entries_sequence_positive" CHECK ("ledger"."entries"."sequence" > 0),
	CONSTRAINT "entries_hashes_hex" CHECK ("ledger"."entries"."previous_hash" ~ '^[0-9a-f]{64}$' and "ledger"."entries"."hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "ledger"."postings" (
	"entry_sequence" bigint NOT NULL,
	"leg" bigint NOT NULL,
	"account_id" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	CONSTRAINT "postings_entry_sequence_leg_pk" PRIMARY KEY("entry_sequence","leg"),
	CONSTRAINT "postings_amount_non_zero" CHECK ("ledger"."postings"."amount" <> 0),
	CONSTRAINT "postings_currency_iso" CHECK ("ledger"."postings"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
ALTER TABLE "ledger"."postings" ADD CONSTRAINT "postings_entry_sequence_entries_sequence_fk" FOREIGN KEY ("entry_sequence") REFERENCES "ledger"."entries"("sequence") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "postings_account_idx" ON "ledger"."postings" USING btree ("account_id","entry_sequence");