import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DispatchedStream } from '../../src/providers/dispatched-stream';

/** DispatchedStream against a real HTTP server on loopback. */
describe('DispatchedStream', () => {
  let server: Server;
  let origin: string;
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const agent = new Agent({ keepAliveTimeout: 1_000 });

  beforeAll(async () => {
    server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => server.closeAllConnections());
  afterAll(async () => {
    await agent.close();
    server.close();
  });

  const open = (signal = new AbortController().signal) =>
    new DispatchedStream(agent, { origin, path: '/', method: 'GET' }, signal);
  /** An upstream that sends an event every 5 ms until the caller hangs up (`closed` then). */
  const endlessStream = () => {
    const upstream = { closed: false };
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const tick = setInterval(() => res.write('data: {}\n\n'), 5);
      req.socket.once('close', () => {
        clearInterval(tick);
        upstream.closed = true;
      });
    };
    return upstream;
  };
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('hands the whole body over in order, and holds the sender back while the reader waits', async () => {
    const piece = Buffer.alloc(64 * 1024);
    const pieces = 2048; // 128 MB: far more than the sockets' buffers can hold (32 + 4 MB at most here)
    let written = 0;
    const sent = createHash('sha256');
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let i = 0;
      const more = () => {
        while (i < pieces) {
          piece.fill(i % 251);
          sent.update(piece);
          i++;
          written = i;
          if (!res.write(piece)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    };
    const stream = open();
    const head = await stream.head;
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('application/octet-stream');
    const received = createHash('sha256');
    let bytes = 0;
    let writtenWhileStalled = 0;
    await stream.read((chunk) => {
      received.update(chunk);
      const first = bytes === 0;
      bytes += chunk.length;
      if (!first) return undefined;
      // A reader that stalls: the sender must be held back at a few socket buffers' worth
      // (without the pause it would push all 128 MB into this process's memory).
      return new Promise<void>((r) => setTimeout(r, 500)).then(() => {
        writtenWhileStalled = written;
      });
    });
    expect(writtenWhileStalled).toBeGreaterThan(0);
    expect(writtenWhileStalled).toBeLessThan(pieces / 2);
    expect(bytes).toBe(piece.length * pieces);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
  });

  it('reads a whole answer of many chunks as text without holding the sender back', async () => {
    const line = `${'x'.repeat(1023)}\n`;
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 3000; i++) res.write(line); // far more chunks than the stream holds back at
      res.end();
    };
    const stream = open();
    expect((await stream.head).statusCode).toBe(200);
    const text = await stream.text();
    expect(text.length).toBe(3000 * line.length);
    expect(text).toBe(line.repeat(3000));
  });

  it('abandons the call when the reader stops early', async () => {
    const upstream = endlessStream();
    const stream = open();
    await stream.head;
    let read = 0;
    await stream.read(() => (++read === 2 ? 'stop' : undefined));
    expect(read).toBe(2);
    await until(() => upstream.closed);
    expect(upstream.closed).toBe(true);
  });

  it('rejects the head with the abort reason when the signal fires first, and hangs up', async () => {
    let closed = false;
    handle = (req) => {
      req.socket.once('close', () => {
        closed = true;
      });
    }; // never answers
    const abort = new AbortController();
    const stream = open(abort.signal);
    setTimeout(() => abort.abort(new Error('client went away')), 20);
    await expect(stream.head).rejects.toThrow('client went away');
    await until(() => closed);
    expect(closed).toBe(true);
  });

  it('ends the iteration with the error when the answer breaks off', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10));
      setTimeout(() => res.socket?.destroy(), 10);
    };
    const stream = open();
    await stream.head;
    await expect(stream.read(() => undefined)).rejects.toThrow();
  });

  it("abandons the call with the reader's error when the reader throws", async () => {
    const upstream = endlessStream();
    const stream = open();
    await stream.head;
    await expect(
      stream.read(() => {
        throw new Error('not an event');
      }),
    ).rejects.toThrow('not an event');
    await until(() => upstream.closed);
    expect(upstream.closed).toBe(true);
  });

  it('keeps the connection of an answer whose end came with the piece the reader stopped at', async () => {
    const sockets = new Set<unknown>();
    handle = (req, res) => {
      sockets.add(req.socket);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: [DONE]\n\n'); // the last piece and the chunked end in one write
    };
    for (let i = 0; i < 3; i++) {
      const stream = open();
      await stream.head;
      await stream.read(() => 'stop');
      stream.close();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sockets.size).toBe(1);
  });

  it('hands over what came before the reader started, then the rest', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one ');
      setTimeout(() => res.end('two'), 50);
    };
    const stream = open();
    await stream.head;
    await new Promise((r) => setTimeout(r, 25)); // 'one ' waits in the stream meanwhile
    let text = '';
    await stream.read((piece) => {
      text += piece.toString();
      return undefined;
    });
    expect(text).toBe('one two');
  });
});
