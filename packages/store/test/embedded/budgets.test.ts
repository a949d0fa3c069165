import { describe, expect, it } from 'vitest';
import { type BudgetLogs, pruneBudgets, reserveIn, settleIn } from '../../src/embedded/budgets';

const T0 = Date.UTC(2025, 9, 21, 12, 0, 0);
const WINDOW = 60_000;

describe('embedded token budgets', () => {
  it('reserves within the budget and refuses past it, with the wait until enough tokens leave', () => {
    const budgets: BudgetLogs = new Map();
    expect(reserveIn(budgets, 'u', 'r1', 60, 100, WINDOW, T0)).toEqual({
      allowed: true,
      used: 60,
      budget: 100,
      retryAfterMs: 0,
    });
    expect(reserveIn(budgets, 'u', 'r2', 30, 100, WINDOW, T0 + 10_000)).toMatchObject({ allowed: true, used: 90 });
    // 20 over: r1 (60 tokens) must leave the window first, at T0 + 60 s
    expect(reserveIn(budgets, 'u', 'r3', 30, 100, WINDOW, T0 + 20_000)).toEqual({
      allowed: false,
      used: 90,
      budget: 100,
      retryAfterMs: 40_000,
    });
    // more than the whole budget never fits: the whole window
    expect(reserveIn(budgets, 'u', 'r4', 101, 100, WINDOW, T0 + 20_000).retryAfterMs).toBe(WINDOW);
  });

  it('replaces a reservation re-made under the same id', () => {
    const budgets: BudgetLogs = new Map();
    reserveIn(budgets, 'u', 'r1', 60, 100, WINDOW, T0);
    expect(reserveIn(budgets, 'u', 'r1', 90, 100, WINDOW, T0 + 1000)).toMatchObject({ allowed: true, used: 90 });
  });

  it('settles a reservation to the tokens used, releases it at 0, and ignores an unknown one', () => {
    const budgets: BudgetLogs = new Map();
    reserveIn(budgets, 'u', 'r1', 80, 100, WINDOW, T0);
    settleIn(budgets, 'u', 'r1', 20, WINDOW, T0 + 1000);
    expect(reserveIn(budgets, 'u', 'r2', 80, 100, WINDOW, T0 + 2000)).toMatchObject({ allowed: true, used: 100 });
    settleIn(budgets, 'u', 'unknown', 0, WINDOW, T0 + 3000);
    settleIn(budgets, 'u', 'r1', 0, WINDOW, T0 + 3000);
    settleIn(budgets, 'u', 'r2', 0, WINDOW, T0 + 3000);
    expect(budgets.size).toBe(0);
  });

  it('prunes reservations that left their window and drops the empty logs', () => {
    const budgets: BudgetLogs = new Map();
    reserveIn(budgets, 'a', 'r', 1, 100, WINDOW, T0);
    reserveIn(budgets, 'b', 'r', 1, 100, 2 * WINDOW, T0);
    pruneBudgets(budgets, T0 + WINDOW);
    expect([...budgets.keys()]).toEqual(['b']);
    pruneBudgets(budgets, T0 + 2 * WINDOW);
    expect(budgets.size).toBe(0);
  });
});
