/**
 * npm run bench:inventory
 *
 * How far stock reservations serialized by PostgreSQL row locks go, the design inventory uses,
 * against the ceiling of the alternative, a Durable Object per SKU.
 *
 * - **row locks**: pgbench runs the reservation transaction as inventory's consumer runs it
 *   for PaymentAuthorized, statement for statement, on inventory's own schema (its migrations,
 *   constraints and indexes): `BEGIN`; the event's inbox row; the order's lines; the
 *   reservation-by-order check; a savepoint; `SELECT … FOR UPDATE` of the order's products in
 *   SKU order; the reservation, its items, `reserved + n` per product; the StockReserved outbox
 *   row; `COMMIT`. Three scenarios: (a) every order for one hot SKU, (b) orders spread over 1,000
 *   SKUs, (c) three-line orders over ten SKUs that overlap (lock order matters: a deadlock would
 *   abort pgbench and fail the run).
 * - **bare DO round trip**: one HTTP request and one RPC to a Durable Object that only counts
 *   (`bench/fixtures/do-hop`, on workerd's own port): what a Durable Object per SKU could never
 *   beat on this machine even before it stored anything. A reservation of several SKUs would
 *   also need one object per SKU and a two-phase protocol between them.
 *
 * Afterwards the books are checked: each product's `reserved` equals the quantities of its HELD
 * reservations, and no product is over-reserved. Against DATABASE_URL (default the local
 * server), in a database of its own, dropped afterwards; BENCH_SECONDS per row (default 10).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { migrateService } from "../../dev/postgres/migrate.ts";
import { classicLevels } from "../accounts/classic.ts";
import { type BenchRow, concurrencyLevels, percentile, printable } from "../accounts/scenarios.ts";
import { stopOnce } from "../lifecycle.ts";
import { runPgbench, scratchDatabase } from "../pgbench.ts";
import { spawnDoHop } from "../workerd.ts";
import { runWrk } from "../wrk.ts";

const serverUrl = new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const database = "edgebank_bench_inventory";
const log = (line: string) => console.error(`[bench] ${line}`);

const scenarios = {
  "hot SKU": { lines: () => ["'HOT'"], setup: "" },
  "1,000 SKUs": { lines: () => ["'SKU-' || lpad(:n::text, 4, '0')"], setup: "\\set n random(1, 1000)\n" },
  "3 lines over 10 SKUs": {
    // Lines i, i+1, i+2 of ten: every order overlaps its neighbours, locked in SKU order.
    lines: () => [0, 1, 2].map((k) => `'M-' || lpad((:i + ${k})::text, 2, '0')`),
    setup: "\\set i random(1, 8)\n",
  },
} as const;
type Scenario = keyof typeof scenarios;

/** The reservation transaction of inventory's consumer, for pgbench (`:r` makes the ids). */
function reservationScript(scenario: Scenario): string {
  const { lines, setup } = scenarios[scenario];
  const skus = lines();
  return `${setup}\\set r random(1, 9000000000000000000)
BEGIN;
INSERT INTO inventory.inbox (consumer, event_id, type) VALUES ('inventory', 'evt-' || :r, 'PaymentAuthorized') ON CONFLICT DO NOTHING RETURNING event_id;
SELECT order_id, lines FROM inventory.order_requests WHERE order_id = 'ord-' || :r;
SELECT id, status, reason FROM inventory.reservations WHERE order_id = 'ord-' || :r;
SAVEPOINT reserve;
SELECT sku, on_hand, reserved FROM inventory.products WHERE sku IN (${skus.join(", ")}) ORDER BY sku FOR UPDATE;
INSERT INTO inventory.reservations (id, order_id, status, reason, expires_at) VALUES ('res-' || :r, 'ord-' || :r, 'HELD', NULL, now() + make_interval(secs => 1800));
INSERT INTO inventory.reservation_items (reservation_id, sku, quantity) VALUES ${skus.map((sku) => `('res-' || :r, ${sku}, 1)`).join(", ")};
${skus.map((sku) => `UPDATE inventory.products SET reserved = reserved + 1, updated_at = now() WHERE sku = ${sku};`).join("\n")}
RELEASE SAVEPOINT reserve;
INSERT INTO inventory.outbox (id, aggregate_id, type, payload) VALUES (gen_random_uuid()::text, 'ord-' || :r, 'StockReserved', jsonb_build_object('orderId', 'ord-' || :r, 'reservationId', 'res-' || :r, 'status', 'HELD'));
COMMIT;
`;
}

const work = mkdtempSync(join(tmpdir(), "edgebank-bench-inventory-"));
const scratch = await scratchDatabase(serverUrl, database);
const benchUrl = scratch.url;
await migrateService("inventory", benchUrl.toString());
const db = postgres(benchUrl.toString(), { max: 1, onnotice: () => {} });
const hop = await spawnDoHop(join(work, "wrangler-hop"));
// Stopped after the run, and on Ctrl-C: nothing is left running.
const stopAll = stopOnce(async () => {
  await hop.stop();
  await db.end();
  await scratch.drop();
  rmSync(work, { recursive: true, force: true });
});

try {
  // Stock enough never to run out: what is measured is the serialization, not rejections.
  const product = (sku: string) => `('${sku}', 'Bench ${sku}', 100, 'EUR', 'mer_bench', 'usr_bench', 1000000000, 0)`;
  const skus = ["HOT", ...Array.from({ length: 1000 }, (_, n) => `SKU-${String(n + 1).padStart(4, "0")}`)];
  skus.push(...Array.from({ length: 10 }, (_, n) => `M-${String(n + 1).padStart(2, "0")}`));
  await db.unsafe(`insert into inventory.products (sku, name, price, currency, merchant_id, owner_id, on_hand, reserved)
                   values ${skus.map(product).join(", ")}`);

  const levels = await classicLevels(serverUrl, concurrencyLevels);
  const commits = async () => {
    const [row] = await db<{ n: string }[]>`select xact_commit as n from pg_stat_database where datname = ${database}`;
    return Number(row?.n ?? 0);
  };
  const rows: BenchRow<Scenario>[] = [];
  for (const scenario of Object.keys(scenarios) as Scenario[]) {
    const script = join(work, `${scenario.replaceAll(/\W+/g, "-")}.sql`);
    writeFileSync(script, reservationScript(scenario));
    for (const concurrency of levels) {
      await new Promise((resolve) => setTimeout(resolve, 600)); // let pg_stat_database catch up
      const before = await commits();
      const { latencies, tps, failed } = runPgbench({
        url: benchUrl.toString(),
        script,
        concurrency,
        seconds,
        workDir: work,
      });
      await new Promise((resolve) => setTimeout(resolve, 600));
      const operations = latencies.length;
      rows.push({
        design: "row locks (inventory)",
        scenario,
        concurrency,
        operations,
        opsPerSecond: Math.round(tps),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        commitsPerOp: ((await commits()) - before) / operations,
        errors: failed,
      });
      log(`row locks, ${scenario}, c=${concurrency}: ${rows.at(-1)?.opsPerSecond} reservations/s`);
    }
  }

  const hopUrl = await hop.ready();
  for (const concurrency of concurrencyLevels) {
    const result = await runWrk(`${hopUrl}/hop/hot`, { concurrency, seconds });
    const ok = result.requests - result.status;
    rows.push({
      design: "bare DO round trip",
      scenario: "hot SKU",
      concurrency,
      operations: ok,
      opsPerSecond: Math.round(ok / (result.durationUs / 1e6)),
      p50: result.p50 / 1000,
      p99: result.p99 / 1000,
      commitsPerOp: Number.NaN,
      errors: result.status + result.connect + result.read + result.write + result.timeout,
    });
    log(`bare DO round trip, c=${concurrency}: ${rows.at(-1)?.opsPerSecond} req/s`);
  }

  // The books: every unit reserved belongs to a HELD reservation, and nothing is over-reserved.
  const [books] = await db<{ off: string; over: string; held: string }[]>`
    with held as (
      select i.sku, sum(i.quantity) as quantity
        from inventory.reservation_items i join inventory.reservations r on r.id = i.reservation_id
       where r.status = 'HELD'
       group by i.sku)
    select count(*) filter (where p.reserved <> coalesce(h.quantity, 0)) as off,
           count(*) filter (where p.reserved > p.on_hand) as over,
           (select count(*) from inventory.reservations where status = 'HELD') as held
      from inventory.products p left join held h on h.sku = p.sku`;
  console.log(
    `inventory reservations: PostgreSQL at ${serverUrl.host}, ${seconds} s per run; ` +
      `${books?.held} reservations made, products whose reserved count is off: ${books?.off}, over-reserved: ${books?.over}`,
  );
  if (!levels.includes(128))
    console.log(`row locks: concurrency 128 needs max_connections > 133; ran ${levels.at(-1)}`);
  console.table(printable(rows));
  if (Number(books?.off) !== 0 || Number(books?.over) !== 0) process.exitCode = 1;
} finally {
  await stopAll();
}
