import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { breakOff, readBody, sendInvalid, sendJson } from '../src/http';
import { type Loopback, serve } from './helpers/loopback';
import { readUntilQuiet } from './helpers/sse';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('reading a request body', () => {
  it('hands over the whole body as text, however it was chunked', async () => {
    const bodies: string[] = [];
    server = await serve((req, res) =>
      readBody(req, res, (raw) => {
        bodies.push(raw);
        sendJson(res, 200, '{}');
      }),
    );
    const res = await fetch(server.url, { method: 'POST', body: 'héllo '.repeat(10_000) });
    expect(res.status).toBe(200);
    expect(bodies).toEqual(['héllo '.repeat(10_000)]);
  });

  it('answers 413 once the body crosses the limit, closes the connection, and never hands it over', async () => {
    let handed = false;
    server = await serve((req, res) =>
      readBody(
        req,
        res,
        () => {
          handed = true;
        },
        1024,
      ),
    );
    const { status, connection, body } = await new Promise<{ status?: number; connection?: string; body: string }>(
      (resolve, reject) => {
        const req = request(`${(server as Loopback).url}/`, { method: 'POST' }, (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        req.write('x'.repeat(2048));
      },
    );
    expect(status).toBe(413);
    expect(connection).toBe('close');
    expect(JSON.parse(body).error).toMatchObject({ message: 'Request body too large.', type: 'invalid_request_error' });
    expect(handed).toBe(false);
  });
});

describe('JSON answers', () => {
  it('carry their exact byte length and any extra headers', async () => {
    server = await serve((_req, res) => sendJson(res, 201, '{"é":1}', { 'x-request-id': 'req_1' }));
    const res = await fetch(server.url);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength('{"é":1}')));
    expect(res.headers.get('x-request-id')).toBe('req_1');
    expect(await res.json()).toEqual({ é: 1 });
  });

  it("refuse with OpenAI's 400, naming the parameter", async () => {
    server = await serve((_req, res) => sendInvalid(res, 'bad n', 'n', 'integer_below_min_value'));
    const res = await fetch(server.url);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: 'bad n', type: 'invalid_request_error', param: 'n', code: 'integer_below_min_value' },
    });
  });
});

describe('breaking an answer off', () => {
  it('sends what it has and goes silent, leaving the connection open', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      breakOff(res, 'partial', false);
    });
    const res = await fetch(server.url);
    const read = await readUntilQuiet(res.body as ReadableStream<Uint8Array>, 150);
    expect(read).toEqual({ text: 'partial', ended: false });
  });

  it('sends what it has and resets the connection', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      breakOff(res, 'partial', true);
    });
    const res = await fetch(server.url);
    await expect(res.text()).rejects.toThrow();
  });
});
