import type { Cluster, Redis } from 'ioredis';
import { USAGE_RESTORE } from './audit';
import { HIT, HIT_BEGIN, RESERVE, SETTLE } from './limits';
import { RECOVER } from './recovery';
import { ADD_REQUEST_STATS, REQUEST_STATS } from './request-stats';
import { PERIOD_SCAN, PERIOD_TOP, USAGE_MINUTES, USAGE_SNAPSHOT } from './usage-reads';
import { INFLIGHT, USAGE_BATCH } from './usage-writes';

/*
 * The Lua scripts behind every RedisStore call: one script, one round trip, atomic.
 *
 * NOTE: the minute-bucket scripts build bucket key names from the server time, so those keys cannot
 * be passed in KEYS. They share the hash tag of KEYS[1] (`{usage}` / `{reqstats}`), so they live in
 * the slot the script is routed to and the scripts stay Redis Cluster safe.
 */

/** The scripts by the command name `defineCommand` gives them on the client. */
const SCRIPTS = {
  flashcaseHit: HIT,
  flashcaseHitBegin: HIT_BEGIN,
  flashcaseReserve: RESERVE,
  flashcaseSettle: SETTLE,
  flashcaseUsageBatch: USAGE_BATCH,
  flashcaseRecover: RECOVER,
  flashcaseUsageRestore: USAGE_RESTORE,
  flashcasePeriodTop: PERIOD_TOP,
  flashcasePeriodScan: PERIOD_SCAN,
  flashcaseInflight: INFLIGHT,
  flashcaseUsageSnapshot: USAGE_SNAPSHOT,
  flashcaseUsageMinutes: USAGE_MINUTES,
  flashcaseAddRequestStats: ADD_REQUEST_STATS,
  flashcaseRequestStats: REQUEST_STATS,
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** A script command: `numkeys`, the keys, then the arguments (EVALSHA, EVAL on NOSCRIPT). */
type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** A client with the store's scripts defined on it. */
export type ScriptedClient = (Redis | Cluster) & Record<ScriptName, ScriptCommand>;

/**
 * Defines every script on the client (idempotent: redefining replaces the same script). ioredis
 * sends EVALSHA and falls back to EVAL when the server does not know the script (NOSCRIPT, e.g.
 * after a restart or SCRIPT FLUSH).
 */
export function defineScripts(client: Redis | Cluster): ScriptedClient {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { lua });
  }
  return client as ScriptedClient;
}
