import { unstable_readConfig } from "wrangler";

/** One Cron Trigger of one Worker, as its wrangler config declares it. */
export interface CronTrigger {
  /** The Worker's name (wrangler routes the scheduled event to it by this name). */
  worker: string;
  cron: string;
}

/** Every Cron Trigger the given wrangler configs declare. */
export function cronTriggers(configs: string[]): CronTrigger[] {
  return configs.flatMap((config) => {
    const { name, triggers } = unstable_readConfig({ config });
    return (triggers.crons ?? []).map((cron: string) => ({ worker: name ?? config, cron }));
  });
}

const fieldRanges: Array<[min: number, max: number]> = [
  [0, 59], // minute
  [0, 23], // hour
  [1, 31], // day of month
  [1, 12], // month
  [0, 7], // day of week (0 and 7: Sunday)
];

/** The values one cron field allows: `*`, `n`, `a-b`, lists of those, each with an optional `/step`. */
function fieldValues(field: string, [min, max]: [number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`unsupported cron field "${field}" (numbers, *, ranges, lists and steps only)`);
    const [, , from, to, step] = match;
    const start = from === undefined ? min : Number(from);
    const end = to !== undefined ? Number(to) : from === undefined || step !== undefined ? max : start;
    const stride = step === undefined ? 1 : Number(step);
    if (start < min || end > max || start > end || stride < 1) throw new Error(`cron field "${field}" is out of range`);
    for (let value = start; value <= end; value += stride) values.add(value);
  }
  return values;
}

/**
 * Whether a five-field cron expression fires at the minute of `at` (UTC, as Cloudflare runs
 * them). As in cron, when both day fields are restricted either one matching is enough.
 */
export function cronMatches(expression: string, at: Date): boolean {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`"${expression}" is not a five-field cron expression`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields.map((field, i) =>
    fieldValues(field, fieldRanges[i] ?? [0, 0]),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const weekday = at.getUTCDay();
  const dayOfMonthMatches = dayOfMonth.has(at.getUTCDate());
  const dayOfWeekMatches = dayOfWeek.has(weekday) || (weekday === 0 && dayOfWeek.has(7));
  const bothDaysRestricted = fields[2] !== "*" && fields[4] !== "*";
  return (
    minute.has(at.getUTCMinutes()) &&
    hour.has(at.getUTCHours()) &&
    month.has(at.getUTCMonth() + 1) &&
    (bothDaysRestricted ? dayOfMonthMatches || dayOfWeekMatches : dayOfMonthMatches && dayOfWeekMatches)
  );
}

/**
 * Fires each Worker's scheduled handler on its own schedule, as Cloudflare does in production
 * (`wrangler dev` runs no Cron Triggers): at the start of every minute, each trigger whose
 * expression matches is sent to the scheduled-handler endpoint of workerd's own entry
 * (`/cdn-cgi/local/scheduled`, routed to the Worker by name with `MF-Route-Override`; wrangler's
 * front proxy routes everything to its first Worker). `entry` finds workerd's URL, again after a
 * failure (workerd moves when wrangler reloads). Answers a function that stops it.
 */
export function startCronScheduler(options: {
  entry: () => Promise<string>;
  triggers: CronTrigger[];
  log: (line: string) => void;
}): () => void {
  for (const trigger of options.triggers) cronMatches(trigger.cron, new Date()); // refuse what cannot be run
  let timer: NodeJS.Timeout | undefined;
  let entry: Promise<string> | undefined;
  const fireOne = async (url: string, { worker, cron }: CronTrigger, at: Date) => {
    const query = new URLSearchParams({ cron, time: String(at.getTime()) });
    const response = await fetch(`${url}/cdn-cgi/local/scheduled?${query}`, {
      headers: { "MF-Route-Override": worker },
      signal: AbortSignal.timeout(55_000),
    });
    const outcome = await response.text();
    if (!response.ok) options.log(`cron ${worker} "${cron}": ${response.status} ${outcome}`);
  };
  const fire = async (at: Date) => {
    const due = options.triggers.filter((trigger) => cronMatches(trigger.cron, at));
    if (due.length === 0) return;
    let url: string;
    try {
      entry ??= options.entry();
      url = await entry;
    } catch (error) {
      entry = undefined;
      options.log(`cron: workerd not found (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    await Promise.all(
      due.map((trigger) =>
        fireOne(url, trigger, at).catch((error: unknown) => {
          entry = undefined;
          options.log(
            `cron ${trigger.worker} "${trigger.cron}": ${error instanceof Error ? error.message : String(error)}`,
          );
        }),
      ),
    );
  };
  const schedule = () => {
    const now = Date.now();
    const next = new Date(now - (now % 60_000) + 60_000);
    timer = setTimeout(() => {
      void fire(next);
      schedule();
    }, next.getTime() - now);
    timer.unref();
  };
  schedule();
  return () => clearTimeout(timer);
}
