import type { UsageDigestJson } from '@flashcase/config';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { RedisAlertStateStore } from '@flashcase/store';
import { getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture, type ServiceProcess, startService, testMeters } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DailyDigest, type DigestSource } from '../../src/digest/daily-digest';
import { digestSubject } from '../../src/digest/render';
import { Evaluator } from '../../src/engine/evaluator';
import { EvaluationLoop } from '../../src/engine/loop';
import { EmailChannel, SlackChannel } from '../../src/notify/channels';
import { Dispatcher } from '../../src/notify/dispatcher';
import { HttpSignalReader } from '../../src/signals/http-reader';
import { AlertRepository } from '../../src/state/repository';
import { type HttpSink, type SmtpSink, startHttpSink, startSmtpSink, waitFor } from '../helpers/receivers';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const INTERNAL_TOKEN = 'alerting-digest-test-internal-token-0123';
const API_KEY = 'xai-test-key';
const ZONE = 'Europe/Berlin';
const SLACK = '/services/T1/B1/digest-slack-secret';
const TEN_S = 10_000;

/**
 * One alerting replica in this process, built from the same parts as start.ts (the lease loop,
 * the evaluator, the dispatcher with the real Slack and SMTP channels, the daily digest), with the
 * clock injected. "Killing" it drops its Redis connection without releasing the lease, as SIGKILL
 * would, and it is never run again.
 */
interface Replica {
  id: string;
  loop: EvaluationLoop;
  digest: DailyDigest;
  repository: AlertRepository;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

describe('the daily usage digest: two alerting replicas, a real ai-proxy, Redis, SMTP and a loopback Slack', () => {
  const base = `flashcase-test:digest:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  let fake: FakeOpenAI;
  let aiProxy: ServiceProcess;
  let smtp: SmtpSink;
  let http: HttpSink;
  let date: string;
  let expected: UsageDigestJson;
  const meters = testMeters();
  const replicas: Replica[] = [];

  function replica(
    id: string,
    prefix: string,
    clock: { now: number },
    { wrap, leads }: { wrap?: (s: DigestSource) => DigestSource; leads?: () => Promise<boolean> } = {},
  ) {
    const redis = new Redis(REDIS_URL);
    const store = new RedisAlertStateStore(redis, { keyPrefix: prefix, closeClient: false });
    const repository = new AlertRepository(store);
    const log = getLogger(`alerting.test.${id}`);
    const reader = new HttpSignalReader({
      gatewayUrl: 'http://127.0.0.1:9',
      aiProxyUrl: aiProxy.base,
      internalToken: INTERNAL_TOKEN,
      timeoutMs: 5_000,
    });
    const dispatcher = new Dispatcher({
      channels: [
        new SlackChannel(`${http.base}${SLACK}`),
        new EmailChannel({ smtpUrl: smtp.url, from: 'FlashCase <alerts@flashcase.test>', to: ['ops@flashcase.test'] }),
      ],
      log,
      instruments: { alertNotifications: meters.meter.createCounter('flashcase.alert.notifications') },
      retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 500, timeoutMs: 5_000 },
    });
    let loop: EvaluationLoop | undefined;
    const confirmLeadership = () => loop?.confirmLeadership() ?? Promise.resolve(false);
    const evaluator = new Evaluator({
      rules: [],
      repository,
      signals: reader,
      notifier: dispatcher,
      timers: { groupWaitMs: 0, groupIntervalMs: 60_000, repeatIntervalMs: 3_600_000 },
      healthIntervalMs: 10_000,
      evalIntervalMs: 1_000,
      log,
      confirmLeadership,
    });
    const digest = new DailyDigest({
      hour: 8,
      timeZone: ZONE,
      repository,
      source: wrap ? wrap(reader) : reader,
      sender: dispatcher,
      replicaId: id,
      log,
      confirmLeadership: leads ?? confirmLeadership,
    });
    loop = new EvaluationLoop({
      store,
      repository,
      evaluator,
      replicaId: id,
      intervalMs: 1_000,
      log,
      now: () => clock.now,
      leaderTasks: [digest],
    });
    const running = loop;
    const release = async () => {
      await reader.close();
      await dispatcher.close();
    };
    const made: Replica = {
      id,
      loop: running,
      digest,
      repository,
      async kill() {
        redis.disconnect();
        await release();
      },
      async stop() {
        await running.stop();
        await release();
        redis.disconnect();
      },
    };
    replicas.push(made);
    return made;
  }

  /** One evaluation interval on each live replica, with its deliveries finished. */
  async function tick(live: Replica[], clock: { now: number }, stepMs = TEN_S): Promise<void> {
    clock.now += stepMs;
    await Promise.all(live.map((r) => r.loop.runOnce()));
    await Promise.all(live.map((r) => r.digest.idle()));
  }

  const slackDigests = () => http.on(SLACK).filter((r) => String(r.body.text).includes('FlashCase usage digest'));
  const mailDigests = () => smtp.mails.filter((m) => m.subject.startsWith('FlashCase usage digest'));

  /** 07:59:00 local on the day after the calls: the digest of the calls' day is due at 08:00. */
  function clockBeforeTheHour(): { now: number } {
    return { now: DateTime.fromISO(date, { zone: ZONE }).plus({ days: 1 }).set({ hour: 7, minute: 59 }).toMillis() };
  }

  async function leaderOf(live: Replica[], clock: { now: number }): Promise<Replica> {
    let leader: Replica | undefined;
    await waitFor(
      'a replica to take the evaluator lease',
      async () => {
        await tick(live, clock, 1_000);
        leader = live.find((r) => r.loop.status().role === 'leader');
        return leader !== undefined;
      },
      20_000,
    );
    return leader as Replica;
  }

  beforeAll(async () => {
    setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
    [fake, smtp, http] = await Promise.all([
      startFakeOpenAI({ apiKey: API_KEY, replyTokens: 30 }),
      startSmtpSink(),
      startHttpSink(),
    ]);
    aiProxy = await startService('ai-proxy', {
      REDIS_URL,
      REDIS_KEY_PREFIX: `${base}ai:`,
      INTERNAL_TOKEN,
      XAI_API_KEY: API_KEY,
      XAI_BASE_URL: fake.url,
      BUDGET_TIMEZONE: ZONE,
      AI_MAX_TOKENS_CHAT: '40',
      AI_BUDGET_USD_PER_USER_PER_DAY: '0.0001',
      RATE_LIMIT_AI_PER_MINUTE: '0',
      RATE_LIMIT_AI_PER_HOUR: '0',
    });
    // Real calls through ai-proxy: one user runs into the daily budget, two spend a little.
    const calls: Array<[string, number]> = [
      ['student-a', 8],
      ['student-b', 2],
      ['student-c', 1],
    ];
    for (const [user, n] of calls) {
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${aiProxy.base}/api/v1/ai/chat`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-internal-token': INTERNAL_TOKEN,
            'x-flashcase-user-id': user,
            'x-flashcase-user-role': 'user',
          },
          body: JSON.stringify({ messages: [{ role: 'user', content: `What is ATP? (${i})` }] }),
        });
        await res.arrayBuffer();
        expect([200, 429]).toContain(res.status);
      }
    }
    date = DateTime.now().setZone(ZONE).toFormat('yyyy-LL-dd');
    const res = await fetch(`${aiProxy.base}/api/v1/ai/usage/digest?date=${date}`, {
      headers: {
        'x-internal-token': INTERNAL_TOKEN,
        'x-flashcase-user-id': 'ops',
        'x-flashcase-user-role': 'admin',
      },
    });
    expect(res.status).toBe(200);
    expected = (await res.json()) as UsageDigestJson;
    expect(expected.day.requests).toBeGreaterThan(0);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop().catch(() => undefined)));
    await aiProxy?.stop();
    await Promise.all([fake?.close(), smtp?.close(), http?.close()]);
    await meters.shutdown();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${base}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("sends yesterday's review once, to Slack and to email, when two replicas cross the digest hour", async () => {
    const clock = clockBeforeTheHour();
    const live = [replica('a1', `${base}one:`, clock), replica('b1', `${base}one:`, clock)];
    // At 07:59 the latest digest due is the day before's (due yesterday at 08:00): this fresh store
    // never saw it, so the first leader sends it at once, late. The calls' day is not due yet.
    await leaderOf(live, clock);
    const before = slackDigests().length;
    const forDate = () => slackDigests().filter((r) => String(r.body.text).includes(` ${date} `));
    for (let i = 0; i < 5; i++) await tick(live, clock);
    expect(DateTime.fromMillis(clock.now, { zone: ZONE }).toFormat('HH:mm')).toBe('07:59');
    expect(forDate()).toHaveLength(0);
    for (let i = 0; i < 2; i++) await tick(live, clock);
    expect(slackDigests().length - before).toBe(1);
    const mine = forDate();
    expect(mine).toHaveLength(1);
    expect(mailDigests().filter((m) => m.subject === digestSubject(expected))).toHaveLength(1);
    for (let i = 0; i < 30; i++) await tick(live, clock, 60_000);
    expect(slackDigests().filter((r) => String(r.body.text).includes(` ${date} `))).toHaveLength(1);
    expect(mailDigests().filter((m) => m.subject === digestSubject(expected))).toHaveLength(1);

    const text = JSON.stringify(mine[0]?.body);
    for (const user of expected.top_users) expect(text).toContain(user.name);
    expect(expected.top_users[0]?.name).toBe('student-a');
    expect(text).toContain('Top operations');
    expect(text).toContain('chat:');
    expect(text).toContain('Budget refusals');
    expect(text).toContain('Cost per active user');
    const mail = mailDigests().find((m) => m.subject === digestSubject(expected));
    expect(mail?.raw).toContain('Top users by cost:');
    expect(mail?.raw).toContain('student-a');
    expect(mail?.raw).toContain('vs the day before');
    expect(mail?.raw).not.toContain(INTERNAL_TOKEN);
    expect(mail?.raw).not.toContain('What is ATP');

    const record = await live[0]?.repository.digest(date);
    expect(record?.channels).toEqual({ slack: 'sent', email: 'sent' });
    expect(record?.claimedAtMs).toBeGreaterThanOrEqual(record?.dueAtMs ?? Number.POSITIVE_INFINITY);
    const counted = (await meters.points()).filter((p) => p.name === 'flashcase.alert.notifications');
    const sent = (channel: string) =>
      counted.find((p) => p.attributes.channel === channel && p.attributes.outcome === 'sent')?.value ?? 0;
    expect(sent('slack')).toBeGreaterThanOrEqual(1);
    expect(sent('email')).toBeGreaterThanOrEqual(1);
    await Promise.all(live.map((r) => r.stop()));
  }, 60_000);

  it('sends it once even when two replicas both think they lead (a lease handover): the claim decides', async () => {
    const clock = clockBeforeTheHour();
    clock.now += 2 * 60_000; // 08:01
    const prefix = `${base}race:`;
    const leads = () => Promise.resolve(true);
    const pair = [replica('a2', prefix, clock, { leads }), replica('b2', prefix, clock, { leads })];
    const before = slackDigests().length;
    const claims = await Promise.all(pair.map((r) => r.digest.runOnce(clock.now)));
    await Promise.all(pair.map((r) => r.digest.idle()));
    expect(claims.filter((c) => c !== undefined && c.date === date)).toHaveLength(1);
    expect(slackDigests().length - before).toBe(1);
    await Promise.all(pair.map((r) => r.stop()));
  }, 30_000);

  it('is sent late by the other replica when the leader is killed at the digest hour, and never resent', async () => {
    const clock = clockBeforeTheHour();
    const prefix = `${base}failover:`;
    let reading = false;
    // The leader dies while it reads the calls' day at 08:00: before it could claim it.
    const hang = (reader: DigestSource): DigestSource => ({
      usageDigest: (day) => {
        if (day !== date) return reader.usageDigest(day);
        reading = true;
        return new Promise<never>(() => {});
      },
    });
    const a = replica('a3', prefix, clock, { wrap: hang });
    await leaderOf([a], clock); // sends the day before's at once (see the first test)
    const b = replica('b3', prefix, clock);
    await tick([a, b], clock);
    expect(b.loop.status().role).toBe('follower');
    clock.now = clockBeforeTheHour().now + 60_000 + 1; // 08:00
    void a.loop.runOnce();
    await waitFor('the leader to start reading the digest', () => reading);
    await a.kill();
    const before = { slack: slackDigests().length, mail: mailDigests().length };
    const leader = await leaderOf([b], clock);
    expect(leader.id).toBe('b3');
    await tick([b], clock);
    const mine = () => slackDigests().filter((r) => String(r.body.text).includes(` ${date} `));
    expect(slackDigests().length - before.slack).toBe(1);
    expect(mailDigests().length - before.mail).toBe(1);
    const record = await b.repository.digest(date);
    expect(record).toMatchObject({ claimedBy: 'b3', channels: { slack: 'sent', email: 'sent' } });
    expect(record?.claimedAtMs).toBeGreaterThan(record?.dueAtMs ?? Number.POSITIVE_INFINITY);
    // The replica that sent it dies too; the one restarted after it does not send it again.
    const count = mine().length;
    await b.kill();
    const restarted = replica('a3-restarted', prefix, clock);
    await leaderOf([restarted], clock);
    for (let i = 0; i < 10; i++) await tick([restarted], clock, 60_000);
    expect(mine()).toHaveLength(count);
    expect(slackDigests().length - before.slack).toBe(1);
    expect(mailDigests().length - before.mail).toBe(1);
    await restarted.stop();
  }, 60_000);

  it('is sent late by a replica restarted after the hour when every replica was down over it', async () => {
    const clock = clockBeforeTheHour();
    const prefix = `${base}restart:`;
    const a = replica('a4', prefix, clock);
    await leaderOf([a], clock);
    const dueBefore = (await a.repository.digests()).map((d) => d.date);
    expect(dueBefore).not.toContain(date);
    await a.kill();
    clock.now += 2 * 60 * 60_000; // back at 10:00
    const before = slackDigests().length;
    const restarted = replica('a4-restarted', prefix, clock);
    await leaderOf([restarted], clock);
    await tick([restarted], clock);
    const record = await restarted.repository.digest(date);
    expect(record).toMatchObject({ claimedBy: 'a4-restarted', channels: { slack: 'sent', email: 'sent' } });
    expect((record?.claimedAtMs ?? 0) - (record?.dueAtMs ?? 0)).toBeGreaterThanOrEqual(2 * 60 * 60_000 - 60_000);
    expect(slackDigests().length - before).toBe(1);
    await restarted.stop();
  }, 60_000);
});
