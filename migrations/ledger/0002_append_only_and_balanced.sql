-- The ledger is append-only and every entry balances, whatever the code above it does.

-- Entries, postings and checkpoints are never changed or removed (a correction is a new entry).
CREATE FUNCTION "ledger"."refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger.% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "entries_append_only" BEFORE UPDATE OR DELETE ON "ledger"."entries"
  FOR EACH ROW EXECUTE FUNCTION "ledger"."refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "entries_no_truncate" BEFORE TRUNCATE ON "ledger"."entries"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger"."refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "postings_append_only" BEFORE UPDATE OR DELETE ON "ledger"."postings"
  FOR EACH ROW EXECUTE FUNCTION "ledger"."refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "postings_no_truncate" BEFORE TRUNCATE ON "ledger"."postings"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger"."refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "checkpoints_append_only" BEFORE UPDATE OR DELETE ON "ledger"."checkpoints"
  FOR EACH ROW EXECUTE FUNCTION "ledger"."refuse_change"();
--> statement-breakpoint
CREATE TRIGGER "checkpoints_no_truncate" BEFORE TRUNCATE ON "ledger"."checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION "ledger"."refuse_change"();
--> statement-breakpoint

-- Balanced: at COMMIT (deferred, once every leg is in), an entry has at least two postings and
-- they sum to zero in every currency. Checked from both sides, so an entry without postings
-- is refused too.
CREATE FUNCTION "ledger"."assert_balanced"(entry bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  legs integer;
  unbalanced text;
BEGIN
  SELECT count(*) INTO legs FROM "ledger"."postings" WHERE entry_sequence = entry;
  IF legs < 2 THEN
    RAISE EXCEPTION 'ledger entry % has % posting(s); at least two are required', entry, legs
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT string_agg(currency || ' ' || total, ', ') INTO unbalanced
    FROM (SELECT currency, sum(amount) AS total FROM "ledger"."postings"
           WHERE entry_sequence = entry GROUP BY currency HAVING sum(amount) <> 0) AS off;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'ledger entry % does not balance: %', entry, unbalanced
      USING ERRCODE = 'check_violation';
  END IF;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "ledger"."postings_balanced"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "ledger"."assert_balanced"(NEW.entry_sequence);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "ledger"."entries_balanced"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM "ledger"."assert_balanced"(NEW.sequence);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "postings_balanced" AFTER INSERT ON "ledger"."postings"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "ledger"."postings_balanced"();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "entries_balanced" AFTER INSERT ON "ledger"."entries"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "ledger"."entries_balanced"();
--> statement-breakpoint

-- Privileges: the role the ledger service connects as (a member of edgebank_ledger_writer in
-- production) may read and append; nobody but the owner may change the tables' rules.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edgebank_ledger_writer') THEN
    CREATE ROLE edgebank_ledger_writer NOLOGIN;
  END IF;
END
$$;
--> statement-breakpoint
REVOKE ALL ON "ledger"."entries", "ledger"."postings", "ledger"."checkpoints" FROM PUBLIC;
--> statement-breakpoint
GRANT USAGE ON SCHEMA "ledger" TO edgebank_ledger_writer;
--> statement-breakpoint
GRANT SELECT, INSERT ON "ledger"."entries", "ledger"."postings", "ledger"."checkpoints" TO edgebank_ledger_writer;
