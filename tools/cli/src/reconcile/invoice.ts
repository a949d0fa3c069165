import { readFileSync } from 'node:fs';
import type { UsageLine } from './records';

/** Ticks per USD (xAI's billing unit). */
export const TICKS_PER_USD = 10_000_000_000;

/** One day and model of a provider's invoice export, or of the trail. */
export interface DayModel {
  day: string;
  model: string;
  tokens: number;
  costTicks: number;
}

/** A day and model where the invoice and the trail disagree. */
export interface InvoiceDifference {
  day: string;
  model: string;
  invoiceTokens: number;
  trailTokens: number;
  invoiceCostTicks: number;
  trailCostTicks: number;
}

/**
 * A decimal USD amount (`0.0123`, `$1,234.50`) as integer ticks, exactly (no float on the way);
 * RangeError for anything else or more than 10 decimals.
 */
export function usdToTicks(raw: string): number {
  const text = raw.trim().replace(/^\$/, '').replace(/,/g, '');
  const match = /^(-?)(\d*)(?:\.(\d{0,10}))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw new RangeError(`not a USD amount: "${raw}"`);
  const ticks = BigInt(match[2] || '0') * BigInt(TICKS_PER_USD) + BigInt((match[3] ?? '').padEnd(10, '0') || '0');
  const n = Number(match[1] === '-' ? -ticks : ticks);
  if (!Number.isSafeInteger(n)) throw new RangeError(`USD amount out of range: "${raw}"`);
  return n;
}

/** The fields of one CSV line (RFC 4180 quoting: `"a, b"`, `""` inside quotes). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

const COLUMNS = {
  day: ['date', 'day'],
  model: ['model'],
  tokens: ['tokens', 'total_tokens'],
  cost: ['cost', 'cost_usd', 'amount', 'amount_usd'],
} as const;

/**
 * A provider's invoice export: CSV with a header naming `date` (YYYY-MM-DD), `model`, `tokens` and
 * `cost` (USD) columns in any order (also `day`, `total_tokens`, `cost_usd`, `amount`); rows of the
 * same day and model are summed. Error (naming the line) on a missing column or a bad value.
 */
export function readInvoice(path: string): Map<string, DayModel> {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const header = csvFields(lines[0] ?? '').map((h) => h.toLowerCase());
  const index = Object.fromEntries(
    Object.entries(COLUMNS).map(([key, names]) => {
      const i = header.findIndex((h) => (names as readonly string[]).includes(h));
      if (i < 0) throw new RangeError(`${path}: no ${names.join('/')} column in the header`);
      return [key, i];
    }),
  ) as Record<keyof typeof COLUMNS, number>;
  const rows = new Map<string, DayModel>();
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = csvFields(line);
    const day = fields[index.day] ?? '';
    if (!/^\d{4}-\d\d-\d\d/.test(day)) throw new RangeError(`${path}:${i + 2}: date is not YYYY-MM-DD: "${day}"`);
    const model = fields[index.model] ?? '';
    const tokens = Number(fields[index.tokens]);
    if (!Number.isSafeInteger(tokens) || tokens < 0) {
      throw new RangeError(`${path}:${i + 2}: tokens is not a non-negative integer`);
    }
    let costTicks: number;
    try {
      costTicks = usdToTicks(fields[index.cost] ?? '');
    } catch (err) {
      throw new RangeError(`${path}:${i + 2}: ${(err as Error).message}`);
    }
    const key = `${day.slice(0, 10)}\u0000${model}`;
    const row = rows.get(key) ?? { day: day.slice(0, 10), model, tokens: 0, costTicks: 0 };
    row.tokens += tokens;
    row.costTicks += costTicks;
    rows.set(key, row);
  });
  return rows;
}

/** Days (YYYY-MM-DD in `timeZone`) and models of the trail's calls: tokens and cost. */
export function trailByDayModel(calls: Iterable<UsageLine>, timeZone: string): Map<string, DayModel> {
  const format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const rows = new Map<string, DayModel>();
  for (const call of calls) {
    const day = format.format(new Date(call.timeMs));
    const key = `${day}\u0000${call.model}`;
    const row = rows.get(key) ?? { day, model: call.model, tokens: 0, costTicks: 0 };
    row.tokens += call.promptTokens + call.completionTokens;
    row.costTicks += call.costTicks;
    rows.set(key, row);
  }
  return rows;
}

/**
 * The days and models where the invoice and the trail differ: tokens exactly, cost by more than
 * `toleranceTicks` (invoices round, to the cent at most providers). Only the invoice's days are
 * compared: a trail longer than the invoice is not a difference. Sorted by day, then model.
 */
export function compareInvoice(
  invoice: Map<string, DayModel>,
  trail: Map<string, DayModel>,
  toleranceTicks: number,
): InvoiceDifference[] {
  const days = new Set([...invoice.values()].map((row) => row.day));
  const keys = new Set([...invoice.keys(), ...[...trail.entries()].filter(([, r]) => days.has(r.day)).map(([k]) => k)]);
  const out: InvoiceDifference[] = [];
  for (const key of keys) {
    const bill = invoice.get(key);
    const ours = trail.get(key);
    const row = (bill ?? ours) as DayModel;
    const difference = {
      day: row.day,
      model: row.model,
      invoiceTokens: bill?.tokens ?? 0,
      trailTokens: ours?.tokens ?? 0,
      invoiceCostTicks: bill?.costTicks ?? 0,
      trailCostTicks: ours?.costTicks ?? 0,
    };
    if (
      difference.invoiceTokens !== difference.trailTokens ||
      Math.abs(difference.invoiceCostTicks - difference.trailCostTicks) > toleranceTicks
    ) {
      out.push(difference);
    }
  }
  return out.sort((a, b) => a.day.localeCompare(b.day) || a.model.localeCompare(b.model));
}
