/**
 * The month of usage the spend-reports run seeds: deterministic (the same users, calls and costs
 * every run), written through the store's own write path.
 */
import type { UsageRecord } from '@flashcase/store';

/** The live path's script calls carry at most 200 records (LIVE_BATCH); this many wait at once. */
const IN_FLIGHT_RECORDS = 4_000;
/** Ticks (1e-10 USD) per token: grok-4-fast's $0.20 / $0.50 per million, grok-4's $3 / $15. */
const PRICES: Record<string, { input: number; output: number }> = {
  'grok-4-fast': { input: 2_000, output: 5_000 },
  'grok-4': { input: 30_000, output: 150_000 },
};

/** A small deterministic PRNG (mulberry32): the same seed every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A user id as a JWT `sub` looks: 24 characters. */
export function userId(i: number): string {
  return `usr_${i.toString(36).padStart(8, '0')}${((i * 2_654_435_761) >>> 0).toString(16).padStart(12, '0')}`;
}

/** What was seeded: the month's label, counts, and each user's cost and tokens (by user index). */
export interface SeedPlan {
  month: string;
  records: number;
  activeDays: number;
  activeHours: number;
  costTicks: Float64Array;
  tokens: Float64Array;
}

/**
 * The assumed month (stated in the README): every user is active on 1 to 12 days of the calendar
 * month (mean about 4.5), with 1 to 6 calls a day (mean about 2.6) in one or two neighbouring hours
 * between 07:00 and 23:00; 60 % chat, 25 % rewrite, 15 % autocomplete; 90 % grok-4-fast, 10 %
 * grok-4 (which reasons); 150-1,950 prompt tokens (a third of the users with half of it cached),
 * 40-640 completion tokens; 1 % of calls fail upstream (counted, no cost). A month's days are all
 * labelled, as at its end; the calls are timed at least three hours ago, so they fill no minute
 * buckets (those live two hours and are not per month).
 */
export async function seed(users: number, record: (r: UsageRecord) => Promise<void>): Promise<SeedPlan> {
  const now = new Date();
  const year = now.getUTCFullYear();
  const mon = now.getUTCMonth();
  const days = new Date(Date.UTC(year, mon + 1, 0)).getUTCDate();
  const month = `m${year}-${pad2(mon + 1)}`;
  const latest = Date.now() - 3 * 3_600_000;
  const random = prng(19);
  const plan: SeedPlan = {
    month,
    records: 0,
    activeDays: 0,
    activeHours: 0,
    costTicks: new Float64Array(users),
    tokens: new Float64Array(users),
  };
  let pending: Promise<void>[] = [];
  for (let u = 0; u < users; u++) {
    const id = userId(u);
    const cachedShare = random() < 1 / 3 ? 0.5 : 0;
    const activeDays = 1 + Math.floor(random() ** 2 * 12);
    const chosen = new Set<number>();
    while (chosen.size < Math.min(activeDays, days)) chosen.add(1 + Math.floor(random() * days));
    const labels = new Set<string>([month]);
    for (const day of chosen) {
      const calls = 1 + Math.floor(random() ** 2 * 6);
      const firstHour = 7 + Math.floor(random() * 16);
      const dayLabel = `d${year}-${pad2(mon + 1)}-${pad2(day)}`;
      labels.add(dayLabel);
      for (let c = 0; c < calls; c++) {
        const hour = random() < 0.7 ? firstHour : Math.min(23, firstHour + 1);
        const hourLabel = `h${year}-${pad2(mon + 1)}-${pad2(day)}T${pad2(hour)}`;
        labels.add(hourLabel);
        const op = random();
        const model = random() < 0.9 ? 'grok-4-fast' : 'grok-4';
        const failed = random() < 0.01;
        const prompt = failed ? 0 : 150 + Math.floor(random() * 1_800);
        const completion = failed ? 0 : 40 + Math.floor(random() * 600);
        const price = PRICES[model] as { input: number; output: number };
        const costTicks = prompt * price.input + completion * price.output;
        plan.costTicks[u] = (plan.costTicks[u] as number) + costTicks;
        plan.tokens[u] = (plan.tokens[u] as number) + prompt + completion;
        plan.records++;
        pending.push(
          record({
            userId: id,
            model,
            operation: op < 0.6 ? 'chat' : op < 0.85 ? 'rewrite' : 'autocomplete',
            promptTokens: prompt,
            completionTokens: completion,
            reasoningTokens: model === 'grok-4' ? Math.floor(completion * 0.4) : 0,
            cachedPromptTokens: Math.floor(prompt * cachedShare),
            costTicks,
            error: failed,
            timestampMs: Math.min(latest, Date.UTC(year, mon, day, hour, Math.floor(random() * 60))),
            periods: { hour: hourLabel, day: dayLabel, month },
          }),
        );
      }
    }
    plan.activeDays += chosen.size;
    plan.activeHours += [...labels].filter((l) => l.startsWith('h')).length;
    if (pending.length >= IN_FLIGHT_RECORDS) {
      await Promise.all(pending);
      pending = [];
    }
    if (u > 0 && u % 20_000 === 0) process.stdout.write(`  seeded ${u} users, ${plan.records} calls\n`);
  }
  await Promise.all(pending);
  return plan;
}
