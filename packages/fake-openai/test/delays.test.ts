import { afterEach, describe, expect, it } from 'vitest';
import { Delays } from '../src/delays';
import { type Loopback, serve } from './helpers/loopback';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('delayed answers', () => {
  it('run at once, without a timer, for no delay', async () => {
    const delays = new Delays();
    let ranSync = false;
    server = await serve((_req, res) => {
      delays.after(res, 0, () => {
        ranSync = true;
      });
      expect(delays.pending).toBe(0);
      res.end('ok');
    });
    await (await fetch(server.url)).text();
    expect(ranSync).toBe(true);
  });

  it('run after their delay', async () => {
    const delays = new Delays();
    server = await serve((_req, res) => {
      const started = performance.now();
      delays.after(res, 80, () => res.end(String(Math.round(performance.now() - started))));
    });
    const waited = Number(await (await fetch(server.url)).text());
    expect(waited).toBeGreaterThanOrEqual(75);
    expect(delays.pending).toBe(0);
  });

  it('never run once the client has gone, and drop their timer', async () => {
    const delays = new Delays();
    let ran = false;
    let scheduled!: () => void;
    const wasScheduled = new Promise<void>((resolve) => {
      scheduled = resolve;
    });
    server = await serve((_req, res) => {
      res.writeHead(200);
      res.flushHeaders();
      delays.after(res, 200, () => {
        ran = true;
      });
      scheduled();
    });
    const controller = new AbortController();
    await fetch(server.url, { signal: controller.signal });
    await wasScheduled;
    expect(delays.pending).toBe(1);
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toBe(false);
    expect(delays.pending).toBe(0);
  });

  it('are all cancelled at once (when the fake closes)', async () => {
    const delays = new Delays();
    let ran = 0;
    let count = 0;
    let scheduled!: () => void;
    const allScheduled = new Promise<void>((resolve) => {
      scheduled = resolve;
    });
    server = await serve((_req, res) => {
      res.writeHead(200);
      res.flushHeaders();
      delays.after(res, 100, () => {
        ran += 1;
      });
      count += 1;
      if (count === 3) scheduled();
    });
    const url = server.url;
    await Promise.all([fetch(url), fetch(url), fetch(url)]);
    await allScheduled;
    expect(delays.pending).toBe(3);
    delays.cancelAll();
    expect(delays.pending).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ran).toBe(0);
  });
});
