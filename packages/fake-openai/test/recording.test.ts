import { afterEach, describe, expect, it } from 'vitest';
import { flatHeaders, type RecordedAnswer, Recording } from '../src/recording';
import { type Loopback, serve } from './helpers/loopback';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const answer = (): RecordedAnswer => ({
  id: 'chatcmpl-1',
  model: 'grok-4',
  stream: false,
  dialect: 'xai',
  usage: undefined,
});

describe('the recording of a fake', () => {
  it('records each request with its path, flattened headers and bodies', async () => {
    const recording = new Recording(true);
    server = await serve((req, res) => {
      recording.request(req, res, '/v1/chat/completions', { model: 'grok-4' }, '{"model":"grok-4"}');
      res.end();
    });
    await fetch(`${server.url}/v1/chat/completions?x=1`, { method: 'POST', headers: { 'x-test': 'a' } });
    expect(recording.requests).toHaveLength(1);
    expect(recording.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      body: { model: 'grok-4' },
      rawBody: '{"model":"grok-4"}',
    });
    expect(recording.requests[0]?.headers['x-test']).toBe('a');
    expect(recording.requests[0]?.abandoned).toBeUndefined();
  });

  it('marks a request abandoned when its client leaves before the answer is complete', async () => {
    const recording = new Recording(true);
    let closed!: () => void;
    const wasClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    server = await serve((req, res) => {
      recording.request(req, res, '/', undefined, '');
      res.writeHead(200);
      res.flushHeaders();
      res.once('close', () => setImmediate(closed));
    });
    const controller = new AbortController();
    await fetch(server.url, { signal: controller.signal });
    controller.abort();
    await wasClosed;
    expect(recording.requests[0]?.abandoned).toBe(true);
  });

  it('bills only the answers whose usage carried a cost, and sets the usage sent', () => {
    const recording = new Recording(true);
    const priced = answer();
    const unpriced = answer();
    recording.answer(priced);
    recording.answer(unpriced);
    recording.sent(priced, { total_tokens: 3 }, 1500n);
    recording.sent(unpriced, { total_tokens: 4 }, undefined);
    expect(priced.usage).toEqual({ total_tokens: 3 });
    expect(unpriced.usage).toEqual({ total_tokens: 4 });
    expect(recording.answers).toEqual([priced, unpriced]);
    expect(recording.billed).toEqual({ calls: 1, ticks: 1500n });
  });

  it('keeps the bill but no lists when recording is off', async () => {
    const recording = new Recording(false);
    server = await serve((req, res) => {
      recording.request(req, res, '/', undefined, '');
      res.end();
    });
    await fetch(server.url);
    const a = answer();
    recording.answer(a);
    recording.sent(a, { total_tokens: 1 }, 7n);
    expect(recording.requests).toEqual([]);
    expect(recording.answers).toEqual([]);
    expect(recording.billed).toEqual({ calls: 1, ticks: 7n });
  });

  it('forgets everything on reset, and hands out snapshots of the bill', () => {
    const recording = new Recording(true);
    const a = answer();
    recording.answer(a);
    recording.sent(a, {}, 5n);
    const before = recording.billed;
    recording.reset();
    expect(before).toEqual({ calls: 1, ticks: 5n });
    expect(recording.billed).toEqual({ calls: 0, ticks: 0n });
    expect(recording.answers).toEqual([]);
  });
});

describe('flattened headers', () => {
  it('join a repeated header with a comma', async () => {
    let headers: Record<string, string> = {};
    server = await serve((req, res) => {
      headers = flatHeaders(req);
      res.end();
    });
    await fetch(server.url, {
      headers: [
        ['x-multi', 'a'],
        ['x-multi', 'b'],
        ['X-Case', 'c'],
      ],
    });
    expect(headers['x-multi']).toBe('a, b');
    expect(headers['x-case']).toBe('c');
  });
});
