import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_CONTENT_TYPE, sendJson } from '../../src/index';

describe('sendJson', () => {
  let server: Server;
  let base: string;
  const body = {
    id: 'chatcmpl-1',
    content: 'Adenosine triphosphate — «energy»',
    usage: { total_tokens: 20 },
    none: null,
  };

  beforeAll(async () => {
    const app = express();
    app.set('etag', false);
    app.all('/express', (_req, res) => {
      res.status(201).json(body);
    });
    app.all('/ours', (_req, res) => {
      sendJson(res, body, 201);
    });
    app.all('/ours-default-status', (_req, res) => {
      res.setHeader('RateLimit-Remaining', '4');
      sendJson(res, body);
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends what res.status().json() sends for the same body: status, type, length, bytes', async () => {
    const [theirs, ours] = await Promise.all([fetch(`${base}/express`), fetch(`${base}/ours`)]);
    expect(ours.status).toBe(201);
    expect(ours.status).toBe(theirs.status);
    expect(ours.headers.get('content-type')).toBe(JSON_CONTENT_TYPE);
    expect(ours.headers.get('content-type')).toBe(theirs.headers.get('content-type'));
    expect(ours.headers.get('content-length')).toBe(theirs.headers.get('content-length'));
    const text = await ours.text();
    expect(text).toBe(await theirs.text());
    expect(Buffer.byteLength(text)).toBe(Number(ours.headers.get('content-length')));
    expect(JSON.parse(text)).toEqual(body);
  });

  it('keeps the status and headers already set, and sends no body to HEAD', async () => {
    const get = await fetch(`${base}/ours-default-status`);
    expect(get.status).toBe(200);
    expect(get.headers.get('ratelimit-remaining')).toBe('4');
    const [theirs, ours] = await Promise.all([
      fetch(`${base}/express`, { method: 'HEAD' }),
      fetch(`${base}/ours`, { method: 'HEAD' }),
    ]);
    expect(await ours.text()).toBe('');
    expect(ours.headers.get('content-length')).toBe(theirs.headers.get('content-length'));
  });
});
