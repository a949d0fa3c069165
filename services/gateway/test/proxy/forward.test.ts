import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler, getLogger, HttpError, requestId, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endsEvent, Forwarder } from '../../src/proxy/forward';

/**
 * The forwarder against a real internal service on loopback: what the client gets when that service
 * is down, slow, large, streaming, or breaks off, and what the service sees when the client leaves.
 */
describe('Forwarder', () => {
  let internal: Server;
  let internalUrl: string;
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const servers: Server[] = [];
  const forwarders: Forwarder[] = [];

  beforeAll(async () => {
    setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
    internal = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}`;
  });
  afterEach(() => internal.closeAllConnections());
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await Promise.all(forwarders.map((f) => f.close()));
    internal.close();
  });

  /** A front service that forwards everything to `target`, with the contract's error JSON. */
  async function front(
    target: string,
    timeoutMs = 2_000,
    options: Partial<ConstructorParameters<typeof Forwarder>[0]> = {},
  ): Promise<string> {
    const forwarder = new Forwarder({ target, name: 'ai-proxy', timeoutMs, ...options });
    forwarders.push(forwarder);
    const app = express();
    app.use(requestId());
    app.use(express.json());
    app.all('/{*rest}', (req, res) => forwarder.forward(req, res));
    app.use(errorHandler({ logger: getLogger('forwarder-test') }));
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const until = async (done: () => boolean) => {
    for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('answers 502 upstream_error when the service is down', async () => {
    const base = await front('http://127.0.0.1:1');
    const res = await fetch(`${base}/api/v1/ai/chat`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_error');
  });

  it('answers 504 upstream_timeout when the service sends no headers in time', async () => {
    handle = () => {}; // never answers
    const base = await front(internalUrl, 300);
    const res = await fetch(`${base}/slow`);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
  });

  it('relays small answers whole with their length, and large ones intact, chunked or not', async () => {
    const large = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < large.length; i++) large[i] = (i * 31) % 251;
    handle = (req, res) => {
      if (req.url === '/small') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 }).end('{"ok":true}');
      } else if (req.url === '/large-length') res.writeHead(200, { 'content-length': large.length }).end(large);
      else {
        // chunked, in pieces
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let off = 0; off < large.length; off += 65_536) res.write(large.subarray(off, off + 65_536));
        res.end();
      }
    };
    const base = await front(internalUrl);
    const small = await fetch(`${base}/small`);
    expect(small.headers.get('content-length')).toBe('11');
    expect(await small.json()).toEqual({ ok: true });
    const digest = (b: ArrayBuffer | Buffer) =>
      createHash('sha256')
        .update(Buffer.from(b as ArrayBuffer))
        .digest('hex');
    for (const path of ['/large-length', '/large-chunked']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(digest(await res.arrayBuffer())).toBe(digest(large));
    }
  });

  it('passes a stream on event by event, and abandons the internal call when the client leaves', async () => {
    let internalClosed = false;
    let sent = 0;
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const tick = setInterval(() => res.write(`data: {"n":${sent++}}\n\n`), 10);
      req.socket.once('close', () => {
        clearInterval(tick);
        internalClosed = true;
      });
    };
    const base = await front(internalUrl);
    const leaving = new AbortController();
    const res = await fetch(`${base}/stream`, { signal: leaving.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('data: {"n":0}');
    leaving.abort();
    await reader.cancel().catch(() => undefined);
    await until(() => internalClosed);
    expect(internalClosed).toBe(true);
  });

  it('holds the service back while its client reads slowly: one drain listener at a time, every byte relayed', async () => {
    const piece = Buffer.alloc(64 * 1024, 120);
    // Far more than the loopback sockets and stream buffers between the three hops can hold.
    const pieces = 768;
    let written = 0;
    let heldBack = false;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pump = () => {
        while (written < pieces) {
          written += 1;
          if (!res.write(piece)) {
            heldBack = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    };
    const forwarder = new Forwarder({ target: internalUrl, name: 'ai-proxy', timeoutMs: 2_000 });
    forwarders.push(forwarder);
    let drainListeners = 0;
    const app = express();
    app.use(requestId());
    app.all('/{*rest}', (req, res) => {
      const sample = setInterval(() => {
        drainListeners = Math.max(drainListeners, res.listenerCount('drain'));
      }, 2);
      res.once('close', () => clearInterval(sample));
      return forwarder.forward(req, res);
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;

    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/slow-reader' }, resolve).on('error', reject).end();
    });
    response.pause();
    // Wait until the service has stopped writing (its socket is full all the way back).
    let seen = -1;
    while (seen !== written) {
      seen = written;
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(heldBack).toBe(true);
    expect(written).toBeLessThan(pieces);
    let received = 0;
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    response.resume();
    await new Promise((resolve) => response.once('end', resolve));
    expect(received).toBe(pieces * piece.length);
    expect(drainListeners).toBeLessThanOrEqual(1);
  });

  it('cuts the client connection when the service breaks off after its headers', async () => {
    handle = (req, res) => {
      // a small answer of known length (relayed whole) and a chunked one (relayed as it comes)
      const headers = req.url === '/known' ? { 'content-length': 100 } : { 'content-type': 'text/event-stream' };
      res.writeHead(200, headers);
      res.write(req.url === '/known' ? Buffer.alloc(10) : 'data: {}\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const base = await front(internalUrl);
    // Nothing was sent yet: the client sees the connection cut, not a short answer.
    await expect(fetch(`${base}/known`)).rejects.toThrow();
    // Headers and the first event were sent: the body breaks off instead of ending cleanly.
    const res = await fetch(`${base}/streamed`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('ends its streams in-band on endStreams: at an event boundary, then abandons the call; one started after is ended at once', async () => {
    let internalClosed = 0;
    let secondHalf: (() => void) | undefined;
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      req.socket.once('close', () => {
        internalClosed += 1;
      });
      res.write('data: {"n":0}\n\n');
      if (req.url === '/split') {
        // An event whose second half comes only when the test says so.
        res.write('data: {"n":');
        secondHalf = () => res.write('1}\n\n');
        return;
      }
      let n = 1;
      const tick = setInterval(() => res.write(`data: {"n":${n++}}\n\n`), 10);
      req.socket.once('close', () => clearInterval(tick));
    };
    const base = await front(internalUrl);
    const forwarder = forwarders.at(-1) as Forwarder;
    /** A stream read to its end: its status, its events and how it ended. */
    const read = async (path: string, onBytes: (text: string) => void = () => {}) => {
      const res = await fetch(`${base}${path}`, { headers: { 'x-request-id': `req${path.replace('/', '-')}` } });
      let text = '';
      let ended: 'clean' | 'cut' = 'clean';
      try {
        for await (const bytes of res.body as ReadableStream<Uint8Array>) {
          text += Buffer.from(bytes).toString();
          onBytes(text);
        }
      } catch {
        ended = 'cut';
      }
      return { status: res.status, events: text.split('\n\n').filter((e) => e !== ''), ended, text };
    };
    let streamed = 0;
    let splitText = '';
    const plain = [read('/a', () => (streamed |= 1)), read('/b', () => (streamed |= 2))];
    const split = read('/split', (text) => {
      splitText = text;
    });
    await until(() => streamed === 3 && splitText.endsWith('data: {"n":'));
    expect(splitText).toBe('data: {"n":0}\n\ndata: {"n":');
    expect(forwarder.openStreams).toBe(3);

    forwarder.endStreams(
      new HttpError(503, 'service_unavailable', 'This gateway replica is shutting down; retry', {
        details: { retry_after_s: 1 },
      }),
    );
    const shutdownEvent = (requestId: string) =>
      `data: ${JSON.stringify({
        error: {
          code: 'service_unavailable',
          message: 'This gateway replica is shutting down; retry',
          type: 'api_error',
          request_id: requestId,
          retry_after_s: 1,
        },
      })}`;
    for (const [i, stream] of (await Promise.all(plain)).entries()) {
      const id = `req-${i === 0 ? 'a' : 'b'}`;
      expect(stream.status).toBe(200);
      expect(stream.ended).toBe('clean');
      expect(stream.events.length).toBeGreaterThanOrEqual(2);
      expect(stream.events.at(-1)).toBe(shutdownEvent(id));
      expect(stream.events.slice(0, -1).every((e) => /^data: \{"n":\d+\}$/.test(e))).toBe(true);
    }
    // The split stream waits for the rest of the event it was relaying, then ends the same way.
    await new Promise((r) => setTimeout(r, 50));
    expect(splitText).toBe('data: {"n":0}\n\ndata: {"n":');
    secondHalf?.();
    const ended = await split;
    expect(ended.ended).toBe('clean');
    expect(ended.events).toEqual(['data: {"n":0}', 'data: {"n":1}', shutdownEvent('req-split')]);

    // A stream that starts once the streams are being ended gets only the event.
    const late = await read('/late');
    expect(late).toMatchObject({ status: 200, ended: 'clean', events: [shutdownEvent('req-late')] });
    // Every call behind them was abandoned, and none is left tracked.
    await until(() => internalClosed === 4);
    expect(internalClosed).toBe(4);
    expect(forwarder.openStreams).toBe(0);
  });

  it('grows its pool with demand when unbounded: more streams than the old 256 cap are all relayed at once', async () => {
    const open: ServerResponse[] = [];
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {}\n\n');
      open.push(res);
    };
    const base = await front(internalUrl);
    const leaving = new AbortController();
    const streams = await Promise.all(
      Array.from({ length: 300 }, () => fetch(`${base}/stream`, { signal: leaving.signal })),
    );
    // Every stream has its headers while all of them are still open: none waited for another to end.
    expect(streams.every((res) => res.status === 200)).toBe(true);
    expect(open.length).toBe(300);
    leaving.abort();
    for (const res of open) res.end();
  });

  describe('with maxConnections', () => {
    const waiting: ServerResponse[] = [];
    let poolFull = 0;
    let base: string;
    beforeAll(async () => {
      base = await front(internalUrl, 30_000, { maxConnections: 2, onPoolFull: () => poolFull++ });
    });

    it('answers 503 with Retry-After at once when every connection is busy, and serves again once one frees', async () => {
      handle = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"open":true}\n\n');
        waiting.push(res);
      };
      const first = await fetch(`${base}/stream`);
      const second = await fetch(`${base}/stream`);
      expect([first.status, second.status]).toEqual([200, 200]);

      const refused = await fetch(`${base}/stream`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(await refused.json()).toMatchObject({
        error: { code: 'service_unavailable', type: 'api_error', limit: 'proxy_connections', retry_after_s: 1 },
      });
      expect(poolFull).toBe(1);
      // Refused without reaching the service, while both streams were still open.
      expect(waiting.length).toBe(2);
      expect(waiting.every((res) => !res.writableEnded)).toBe(true);

      // One stream ends: its connection serves the next request.
      (waiting.shift() as ServerResponse).end('data: [DONE]\n\n');
      expect(await first.text()).toContain('[DONE]');
      handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      const next = await fetch(`${base}/small`);
      expect(next.status).toBe(200);
      expect(await next.json()).toEqual({ ok: true });
      (waiting.shift() as ServerResponse).end();
      await second.text();
    });
  });

  it('tells the end of an SSE event from bytes that stop inside one', () => {
    const ends = (text: string) => endsEvent(Buffer.from(text));
    for (const text of ['data: x\n\n', 'data: x\r\n\r\n', 'data: x\r\r', 'data: x\n\r\n', ': comment\n\n', '\n\n']) {
      expect(ends(text), JSON.stringify(text)).toBe(true);
    }
    for (const text of ['data: x', 'data: x\n', 'data: x\r\n', 'data: x\r', 'data: {"n":', '\n', '']) {
      expect(ends(text), JSON.stringify(text)).toBe(false);
    }
  });
});
