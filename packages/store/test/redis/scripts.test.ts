import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/index';
import { whenReady } from '../../src/redis/client';
import { USAGE_RESTORE } from '../../src/redis/scripts/audit';
import { defineScripts } from '../../src/redis/scripts/define';
import { HIT, HIT_BEGIN, RESERVE, SETTLE } from '../../src/redis/scripts/limits';
import { RECOVER } from '../../src/redis/scripts/recovery';
import { ADD_REQUEST_STATS, REQUEST_STATS } from '../../src/redis/scripts/request-stats';
import { PERIOD_SCAN, PERIOD_TOP, USAGE_MINUTES, USAGE_SNAPSHOT } from '../../src/redis/scripts/usage-reads';
import { INFLIGHT, USAGE_BATCH } from '../../src/redis/scripts/usage-writes';
import { REDIS_URL } from '../helpers/redis';

const SCRIPTS = {
  HIT,
  HIT_BEGIN,
  RESERVE,
  SETTLE,
  USAGE_BATCH,
  INFLIGHT,
  RECOVER,
  USAGE_RESTORE,
  USAGE_SNAPSHOT,
  USAGE_MINUTES,
  PERIOD_TOP,
  PERIOD_SCAN,
  ADD_REQUEST_STATS,
  REQUEST_STATS,
};

describe('redis scripts', () => {
  const client = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 2000 });

  beforeAll(() => whenReady(client));
  afterAll(() => client.disconnect());

  it.each(Object.entries(SCRIPTS))('%s compiles on the server', async (_name, lua) => {
    const sha = await client.script('LOAD', lua);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('defines one command per script on the client', () => {
    const scripted = defineScripts(createRedisClient({ url: REDIS_URL, commandTimeoutMs: 2000 }));
    for (const name of [
      'flashcaseHit',
      'flashcaseHitBegin',
      'flashcaseReserve',
      'flashcaseSettle',
      'flashcaseUsageBatch',
      'flashcaseRecover',
      'flashcaseUsageRestore',
      'flashcasePeriodTop',
      'flashcasePeriodScan',
      'flashcaseInflight',
      'flashcaseUsageSnapshot',
      'flashcaseUsageMinutes',
      'flashcaseAddRequestStats',
      'flashcaseRequestStats',
    ] as const) {
      expect(typeof scripted[name]).toBe('function');
    }
    scripted.disconnect();
  });
});
