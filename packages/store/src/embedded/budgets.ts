import type { BudgetDecision } from '../types';

/** The live reservations of one key's token budget, in reservation (time) order. */
export interface BudgetLog {
  windowMs: number;
  reservations: Map<string, { atMs: number; tokens: number }>;
}

/** Budget logs by key. */
export type BudgetLogs = Map<string, BudgetLog>;

function pruneBudget(log: BudgetLog, cutoff: number): void {
  for (const [id, reservation] of log.reservations) {
    if (reservation.atMs <= cutoff) log.reservations.delete(id);
  }
}

/** Ms until reservations totalling `excess` tokens have left the window (the whole window if never). */
function budgetWait(log: BudgetLog, reservationId: string, excess: number, neverFits: boolean, now: number): number {
  if (neverFits) return log.windowMs;
  let freed = 0;
  // Map iteration order is insertion order, which is time order here.
  for (const [id, reservation] of log.reservations) {
    if (id === reservationId) continue;
    freed += reservation.tokens;
    if (freed >= excess) return Math.max(1, reservation.atMs + log.windowMs - now);
  }
  return log.windowMs;
}

/**
 * Reserves `tokens` of `key`'s rolling-window `budget` at `now` (see `CountersStore.reserveBudget`);
 * the caller has checked the arguments and handled budget 0. Re-reserving an id replaces it.
 */
export function reserveIn(
  budgets: BudgetLogs,
  key: string,
  reservationId: string,
  tokens: number,
  budget: number,
  windowMs: number,
  now: number,
): BudgetDecision {
  let log = budgets.get(key);
  if (!log) {
    log = { windowMs, reservations: new Map() };
    budgets.set(key, log);
  }
  log.windowMs = windowMs;
  pruneBudget(log, now - windowMs);
  let used = 0;
  for (const [id, reservation] of log.reservations) {
    if (id !== reservationId) used += reservation.tokens;
  }
  if (used + tokens > budget) {
    return {
      allowed: false,
      used,
      budget,
      retryAfterMs: budgetWait(log, reservationId, used + tokens - budget, tokens > budget, now),
    };
  }
  // Re-reserving an id replaces it (and moves it to the end of the window).
  log.reservations.delete(reservationId);
  log.reservations.set(reservationId, { atMs: now, tokens });
  return { allowed: true, used: used + tokens, budget, retryAfterMs: 0 };
}

/** Sets a live reservation to the tokens really used (0 releases it); an unknown or expired one is ignored. */
export function settleIn(
  budgets: BudgetLogs,
  key: string,
  reservationId: string,
  tokens: number,
  windowMs: number,
  now: number,
): void {
  const log = budgets.get(key);
  if (!log) return;
  pruneBudget(log, now - windowMs);
  const reservation = log.reservations.get(reservationId);
  if (!reservation) return;
  if (tokens === 0) log.reservations.delete(reservationId);
  else reservation.tokens = tokens;
  if (log.reservations.size === 0) budgets.delete(key);
}

/** Drops the reservations that left their window at `now`, and the logs left empty. */
export function pruneBudgets(budgets: BudgetLogs, now: number): void {
  for (const [key, log] of budgets) {
    pruneBudget(log, now - log.windowMs);
    if (log.reservations.size === 0) budgets.delete(key);
  }
}
