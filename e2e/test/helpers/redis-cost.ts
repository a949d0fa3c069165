import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** `INFO commandstats` as `{ command: calls }` (`cmdstat_evalsha:calls=12,...` -> `{ evalsha: 12 }`). */
export async function commandStats(client: Redis): Promise<Record<string, number>> {
  const text = await client.info('commandstats');
  const calls: Record<string, number> = {};
  for (const [, command, count] of text.matchAll(/^cmdstat_([\w|-]+):calls=(\d+)/gm)) {
    calls[command as string] = Number(count);
  }
  return calls;
}

/** What a window of traffic cost Redis: commands by name (Lua-called ones included) and round trips. */
export interface RedisCost {
  /** Commands executed, by name, from `INFO commandstats` (what Redis's CPU goes to). */
  commands: Record<string, number>;
  /** Commands the clients sent (MONITOR lines not issued from Lua): the round trips, pipelined or not. */
  sent: Record<string, number>;
  /** Sent commands whose arguments contain `marker`, when one was given (e.g. the evaluator lease key). */
  marked: number;
}

/** Commands the measuring connections themselves issue, never counted. */
const OWN = new Set(['info', 'monitor', 'ping']);

/**
 * Runs `load` while recording what Redis executes (commandstats before and after) and what its
 * clients send (MONITOR), then waits `settleMs` for late writes (usage records flush a few ms after
 * the answer). PING (the services' health probes of the store) is left out: it is no call's cost.
 */
export async function measureRedis(
  url: string,
  load: () => Promise<void>,
  { settleMs = 300, marker = '' } = {},
): Promise<RedisCost> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const connection = client.duplicate();
  const monitor = await connection.monitor();
  const sent: Record<string, number> = {};
  let marked = 0;
  // NOTE: ioredis can report "Command queue state error" on a monitoring connection when a MONITOR
  // line arrives while a reply of its own is awaited: the window is measured again rather than the
  // test failing on the measuring tool.
  let broken: Error | undefined;
  monitor.on('error', (err: Error) => {
    broken = err;
  });
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const command = String(args[0]).toLowerCase();
    if (OWN.has(command)) return;
    if (source === 'lua') return;
    sent[command] = (sent[command] ?? 0) + 1;
    if (marker !== '' && args.some((arg) => String(arg).includes(marker))) marked++;
  });
  try {
    const before = await commandStats(client);
    await load();
    await sleep(settleMs);
    const after = await commandStats(client);
    if (broken) throw broken;
    const commands: Record<string, number> = {};
    for (const [command, calls] of Object.entries(after)) {
      const delta = calls - (before[command] ?? 0);
      if (delta > 0 && !OWN.has(command) && !command.startsWith('config') && !command.startsWith('client')) {
        commands[command] = delta;
      }
    }
    return { commands, sent, marked };
  } finally {
    monitor.disconnect();
    connection.disconnect();
    client.disconnect();
  }
}

/** {@link measureRedis}, once more if the monitoring connection broke (see the NOTE there). */
export async function measureRedisSteadily(
  url: string,
  load: () => Promise<void>,
  options: { settleMs?: number; marker?: string } = {},
): Promise<RedisCost> {
  try {
    return await measureRedis(url, load, options);
  } catch (err) {
    if (!String((err as Error)?.message).includes('Command queue state error')) throw err;
    return measureRedis(url, load, options);
  }
}

/** `(load - idle) / n` per command, rounded to a hundredth; entries under 0.05 are dropped. */
export function perCall(load: Record<string, number>, idle: Record<string, number>, n: number): Record<string, number> {
  const result: Record<string, number> = {};
  for (const command of new Set([...Object.keys(load), ...Object.keys(idle)])) {
    const value = Math.round((((load[command] ?? 0) - (idle[command] ?? 0)) / n) * 100) / 100;
    if (Math.abs(value) >= 0.05) result[command] = value;
  }
  return result;
}

/** The sum of a per-command map. */
export function total(counts: Record<string, number>): number {
  return Math.round(Object.values(counts).reduce((sum, value) => sum + value, 0) * 100) / 100;
}
