import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { deleteKeys, RATE_LIMITS_OFF } from '@flashcase/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, INTERNAL_TOKEN, JWT_SECRET, startChain, token } from './helpers/chain';

const ERROR_CODES = new Set([
  'unauthorized',
  'forbidden',
  'invalid_request',
  'payload_too_large',
  'rate_limited',
  'budget_exceeded',
  'ai_not_configured',
  'upstream_error',
  'upstream_timeout',
  'upstream_rate_limited',
  'not_found',
  'store_unavailable',
]);

const ROUTES = [
  '/api/v1/health',
  '/api/v1/ai/health',
  '/api/v1/ai/chat',
  '/api/v1/ai/rewrite',
  '/api/v1/ai/autocomplete',
  '/api/v1/ai/chat/completions',
  '/api/v1/ai/usage',
  '/api/v1/ai/usage/me',
  '/api/v1/ai/usage/timeseries',
  '/api/v1/alerts',
  '/api/v1/alerts/silences',
  '/api/v1/internal/stats',
  '/api/v1/../../etc/passwd',
  '/api/v1/%00%ff',
  '/api/v2/nothing',
];
const ADMIN_ONLY = ['/api/v1/ai/usage', '/api/v1/ai/usage/timeseries', '/api/v1/alerts', '/api/v1/internal/stats'];

function signed(header: object, payload: object, secret: string): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

type Auth = 'none' | 'user' | 'admin' | 'alg-none-admin' | 'wrong-key-admin' | 'expired-admin' | 'garbage';

function authorization(kind: Auth): string | undefined {
  const nowS = Math.floor(Date.now() / 1000);
  switch (kind) {
    case 'none':
      return undefined;
    case 'user':
      return `Bearer ${token('fuzz-user')}`;
    case 'admin':
      return `Bearer ${token('fuzz-admin', 'admin')}`;
    case 'alg-none-admin':
      return `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ sub: 'evil', role: 'admin', exp: nowS + 600 }),
      ).toString('base64url')}.`;
    case 'wrong-key-admin':
      return `Bearer ${signed({ alg: 'HS256' }, { sub: 'evil', role: 'admin', exp: nowS + 600 }, `${JWT_SECRET}x`)}`;
    case 'expired-admin':
      return `Bearer ${signed({ alg: 'HS256' }, { sub: 'evil', role: 'admin', exp: nowS - 600 }, JWT_SECRET)}`;
    case 'garbage':
      return 'Bearer \u00ff\u00fe.....';
  }
}

interface Answer {
  status: number;
  contentType: string;
  body: Buffer;
}

function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  const url = new URL(base);
  // NOTE: node's client frames a DELETE body with neither Content-Length nor chunking; say it.
  const framed = body === undefined ? headers : { ...headers, 'content-length': String(body.length) };
  // A fresh connection per request, kept alive as a real client's is: the server may answer early
  // (401 before a large body is read, 413) and goes on discarding the rest. With `Connection: close`
  // (node's `agent: false`) it closes after its answer instead, the unread body makes the kernel
  // reset the connection, and the client can lose the answer it had not parsed yet.
  const agent = new Agent({ keepAlive: true });
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: framed, timeout: 10_000, agent },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // Writing the rest of a body the server already refused fails (EPIPE): the answer is what counts.
    req.on('error', (err) => {
      if (!answered) setTimeout(() => (answered ? undefined : reject(err)), 200);
    });
    req.end(body);
  }).finally(() => agent.destroy());
}

/** Every answer is the contract's JSON error, or a success that parses. */
function assertContractShape(answer: Answer): void {
  if (answer.status >= 400) {
    expect(answer.contentType).toContain('application/json');
    const parsed = JSON.parse(answer.body.toString()) as {
      error: { code: string; message: string; request_id: unknown };
    };
    expect(ERROR_CODES.has(parsed.error.code), parsed.error.code).toBe(true);
    expect(typeof parsed.error.message).toBe('string');
    expect(typeof parsed.error.request_id).toBe('string');
    expect(answer.body.toString()).not.toMatch(/\n\s+at |node_modules|\/work\//);
  } else if (answer.contentType.includes('text/event-stream')) {
    expect(answer.body.toString()).toMatch(/^data: /);
  } else {
    expect(answer.status).toBeGreaterThanOrEqual(200);
    expect(answer.status).toBeLessThan(300);
    JSON.parse(answer.body.toString());
  }
}

interface Body {
  bytes: Buffer;
  [fc.toStringMethod](): string;
}

/** A body that prints as a short label in counterexamples (some are a megabyte). */
function body(bytes: Buffer, label?: string): Body {
  return {
    bytes,
    [fc.toStringMethod]: () => label ?? `${bytes.length} bytes: ${bytes.subarray(0, 80).toString('latin1')}`,
  };
}

/** Chat Completions bodies of every message role and content form, valid and subtly not. */
const junk = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null), fc.object({ maxDepth: 1 }));
const contentPart = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.oneof(fc.string({ maxLength: 100 }), junk) }),
  fc.record({
    type: fc.constant('image_url'),
    image_url: fc.oneof(
      fc.record({
        url: fc.constantFrom('https://example.com/a.png', 'data:image/png;base64,iVBORw0KGgo='),
        detail: fc.constantFrom('auto', 'low', 'high', 'ultra'),
      }),
      junk,
    ),
  }),
  fc.record({ type: fc.string({ maxLength: 12 }), text: junk }),
);
const toolCall = fc.record({
  id: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), junk),
  type: fc.constantFrom('function', 'code'),
  function: fc.oneof(fc.record({ name: fc.string({ maxLength: 20 }), arguments: fc.oneof(fc.json(), junk) }), junk),
});
const completionsMessage = fc.record(
  {
    role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function', 'admin'),
    content: fc.oneof(fc.string({ maxLength: 200 }), fc.constant(null), fc.array(contentPart, { maxLength: 3 }), junk),
    tool_calls: fc.array(toolCall, { maxLength: 2 }),
    tool_call_id: fc.oneof(fc.string({ maxLength: 20 }), junk),
    name: fc.oneof(fc.string({ maxLength: 80 }), junk),
  },
  { requiredKeys: ['role'] },
);
const completionsBody = fc.record(
  {
    model: fc.oneof(fc.constantFrom('grok-4-fast', 'grok-4', 'grok-3-mini', 'gpt-4o'), junk),
    messages: fc.array(completionsMessage, { maxLength: 4 }),
    n: fc.oneof(fc.integer({ min: -1, max: 9 }), junk),
    tools: fc.oneof(
      fc.array(
        fc.record({
          type: fc.constantFrom('function', 'live_search'),
          function: fc.record({
            name: fc.string({ minLength: 1, maxLength: 20 }),
            parameters: fc.constant({ type: 'object' }),
          }),
        }),
        { maxLength: 3 },
      ),
      junk,
    ),
    tool_choice: fc.oneof(fc.constantFrom('auto', 'none', 'required', 'sometimes'), junk),
    response_format: fc.oneof(
      fc.constantFrom({ type: 'text' }, { type: 'json_object' }, { type: 'json_schema' }, { type: 'yaml' }),
      fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name: fc.string({ maxLength: 70 }) }) }),
      junk,
    ),
    stream: fc.oneof(fc.boolean(), junk),
    stream_options: fc.oneof(fc.record({ include_usage: fc.oneof(fc.boolean(), junk) }), junk),
    logprobs: fc.oneof(fc.boolean(), junk),
    top_logprobs: fc.oneof(fc.integer({ min: -1, max: 25 }), junk),
    seed: fc.oneof(fc.integer(), fc.double(), junk),
    stop: fc.oneof(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 6 }), junk),
    max_completion_tokens: fc.oneof(fc.integer({ min: -5, max: 100_000 }), junk),
    anything_else: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['messages'] },
);

/** Chat Completions bodies the API accepts: every role, content form and optional parameter. */
const text = fc.string({ minLength: 1, maxLength: 80 });
const textParts = fc.array(fc.record({ type: fc.constant('text'), text }), { minLength: 1, maxLength: 3 });
const validToolCall = fc.record({
  id: fc.string({ minLength: 1, maxLength: 20 }),
  type: fc.constant('function'),
  function: fc.record({ name: fc.constantFrom('card_hint', 'define'), arguments: fc.json({ maxDepth: 1 }) }),
});
const validMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'developer'), content: fc.oneof(text, textParts) }),
  fc.record(
    {
      role: fc.constant('user'),
      content: fc.oneof(
        text,
        fc.array(
          fc.oneof(
            fc.record({ type: fc.constant('text'), text }),
            fc.record({
              type: fc.constant('image_url'),
              image_url: fc.record(
                {
                  url: fc.constantFrom('https://example.com/card.png', 'data:image/png;base64,iVBORw0KGgo='),
                  detail: fc.constantFrom('auto', 'low', 'high'),
                },
                { requiredKeys: ['url'] },
              ),
            }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
      ),
      name: fc.stringMatching(/^[a-z]{1,10}$/),
    },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record(
    {
      role: fc.constant('assistant'),
      content: fc.oneof(text, fc.constant(null)),
      tool_calls: fc.array(validToolCall, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record({
    role: fc.constant('tool'),
    content: fc.oneof(text, textParts),
    tool_call_id: fc.string({ minLength: 1, maxLength: 20 }),
  }),
);
const validTools = fc.uniqueArray(
  fc.record({
    type: fc.constant('function'),
    function: fc.record({
      name: fc.stringMatching(/^[a-z_]{1,20}$/),
      parameters: fc.constant({ type: 'object', properties: { topic: { type: 'string' } } }),
    }),
  }),
  { minLength: 1, maxLength: 3, selector: (t) => t.function.name },
);
const validCompletionsBody = fc
  .record(
    {
      model: fc.constantFrom('grok-4-fast', 'grok-4', 'grok-3-mini'),
      messages: fc.array(validMessage, { minLength: 1, maxLength: 4 }),
      n: fc.integer({ min: 1, max: 4 }),
      tools: validTools,
      response_format: fc.oneof(
        fc.constantFrom({ type: 'text' }, { type: 'json_object' }),
        fc.record({
          type: fc.constant('json_schema'),
          json_schema: fc.record({ name: fc.constant('card'), schema: fc.constant({ type: 'object' }) }),
        }),
      ),
      stream: fc.boolean(),
      logprobs: fc.boolean(),
      seed: fc.integer(),
      stop: fc.oneof(text, fc.array(text, { maxLength: 4 })),
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      max_completion_tokens: fc.integer({ min: 1, max: 100_000 }),
      anything_else: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['messages'] },
  )
  .map((v) => (v.stream ? { ...v, stream_options: { include_usage: true } } : v));

const hostileBody: fc.Arbitrary<Body> = fc.oneof(
  completionsBody.map((v) => body(Buffer.from(JSON.stringify(v)))),
  fc.jsonValue({ maxDepth: 4 }).map((v) => body(Buffer.from(JSON.stringify(v)))),
  fc
    .record({
      messages: fc.array(
        fc.record({
          role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool', 'admin'), fc.string()),
          content: fc.oneof(fc.string({ maxLength: 200 }), fc.integer(), fc.constant(null), fc.array(fc.anything())),
        }),
        { maxLength: 4 },
      ),
      max_tokens: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1)),
      temperature: fc.oneof(fc.double(), fc.string(), fc.constant(Number.MAX_VALUE)),
      stream: fc.oneof(fc.boolean(), fc.string()),
      text: fc.oneof(fc.string({ maxLength: 300 }), fc.object()),
    })
    .map((v) => body(Buffer.from(JSON.stringify(v)))),
  fc
    .integer({ min: 1, max: 3000 })
    .map((depth) => body(Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`), `${depth}-deep nested array`)),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => body(Buffer.from(bytes))),
  fc.constant(body(Buffer.from('{"text": "\xc3\x28 invalid \xa0\xa1 utf8"}', 'latin1'), 'invalid UTF-8 JSON')),
  fc.constant(body(Buffer.from(JSON.stringify({ text: 'x'.repeat(1_200_000) })), '1.2 MB JSON')),
  fc.constant(body(Buffer.alloc(0), 'empty')),
);

describe('hostile input at every public route', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `e2e-fuzz:${process.pid}:${Date.now()}:`;
  let chain: Chain;
  beforeAll(async () => {
    chain = await startChain({
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      ...RATE_LIMITS_OFF,
      AI_MAX_TOKENS_CHAT: '20',
    });
  });
  afterAll(async () => {
    await chain?.stop();
    await deleteKeys(redisUrl, prefix);
  });

  it('answers random and hostile requests with contract JSON or a valid success, and reveals nothing unauthorised', async () => {
    await fc
      .assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
          fc.constantFrom<Auth>(
            'none',
            'user',
            'admin',
            'alg-none-admin',
            'wrong-key-admin',
            'expired-admin',
            'garbage',
          ),
          fc.boolean(),
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/json; charset=latin1',
            'multipart/form-data',
            '',
          ),
          fc.string({ maxLength: 60 }),
          hostileBody,
          async (route, method, auth, forgeIdentity, contentType, query, payload) => {
            const headers: Record<string, string> = {};
            const authHeader = authorization(auth);
            if (authHeader) headers.authorization = authHeader;
            if (contentType) headers['content-type'] = contentType;
            if (forgeIdentity) {
              headers['x-flashcase-user-id'] = 'root';
              headers['x-flashcase-user-role'] = 'admin';
              headers['x-internal-token'] = 'guessed-token';
            }
            const path = `${route}?${encodeURIComponent(query)}=${encodeURIComponent(query)}`;
            const answer = await send(
              chain.gateway.base,
              method,
              path,
              headers,
              method === 'GET' ? undefined : payload.bytes,
            );
            assertContractShape(answer);
            const authenticated = auth === 'user' || auth === 'admin';
            const publicRoute = route === '/api/v1/health' || route === '/api/v1/ai/health';
            if (!authenticated && !publicRoute) expect(answer.status).toBeGreaterThanOrEqual(400);
            if (auth !== 'admin' && ADMIN_ONLY.includes(route)) expect(answer.status).toBeGreaterThanOrEqual(400);
          },
        ),
        { numRuns: 400, interruptAfterTimeLimit: 90_000 },
      )
      .catch((err) => {
        console.log('GATEWAY', chain.gateway.child.exitCode, chain.gateway.output().slice(-3000));
        console.log('PROXY', chain.aiProxies[0]?.child.exitCode, chain.aiProxies[0]?.output().slice(-3000));
        throw err;
      });
    expect(chain.gateway.child.exitCode).toBeNull();
    expect(chain.aiProxies[0]?.child.exitCode).toBeNull();
    expect((await fetch(`${chain.gateway.base}/api/v1/health`)).status).toBe(200);
  }, 120_000);

  it('answers every Chat Completions body the API accepts with a success, and a malformed one with a 400 naming the field', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          validCompletionsBody.map((v) => ({ valid: true, v })),
          completionsBody.map((v) => ({ valid: false, v })),
        ),
        async ({ valid, v: value }) => {
          const answer = await send(
            chain.gateway.base,
            'POST',
            '/api/v1/ai/chat/completions',
            { authorization: `Bearer ${token('schema-fuzz')}`, 'content-type': 'application/json' },
            Buffer.from(JSON.stringify(value)),
          );
          assertContractShape(answer);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          expect(valid ? [200] : [200, 400], answer.body.toString().slice(0, 300)).toContain(answer.status);
          if (answer.status === 400) {
            const { error } = JSON.parse(answer.body.toString()) as { error: { type: string; message: string } };
            expect(error.type).toBe('invalid_request_error');
            expect(error.message).toMatch(/field|Upstream rejected/);
          }
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 40_000 },
    );
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(chain.aiProxies[0]?.child.exitCode).toBeNull();
  }, 60_000);

  it('answers raw protocol abuse (header injection, oversized headers, garbage request lines) with JSON or a closed socket', async () => {
    const url = new URL(chain.gateway.base);
    const raw = (payload: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(Number(url.port), url.hostname, () => socket.end(payload));
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk.toString('latin1');
        });
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.setTimeout(5_000, () => socket.destroy());
      });
    const cases = [
      'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n',
      `GET /api/v1/ai/usage HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
      'NONSENSE\r\n\r\n',
      'POST /api/v1/ai/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}',
      `GET /api/v1/ai/usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a.b.c\r\nx-internal-token: ${INTERNAL_TOKEN}\r\nx-flashcase-user-role: admin\r\n\r\n`,
    ];
    for (const payload of cases) {
      const answer = await raw(payload);
      if (answer.length === 0) continue; // the socket was closed on us: acceptable for abuse
      const [head, body = ''] = answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(head?.toLowerCase()).toContain('content-type: application/json');
      expect((JSON.parse(body) as { error: { code: string } }).error.code).toMatch(/invalid_request|unauthorized/);
    }
    expect(chain.gateway.child.exitCode).toBeNull();
  });

  it('lets clients hang up mid-request without a warning, and still warns about garbage', async () => {
    const url = new URL(chain.gateway.base);
    const before = chain.gateway.output().length;
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(url.port), url.hostname, () => {
          socket.write('POST /api/v1/ai/chat HTTP/1.1\r\nHost: x\r\nContent-Le');
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, 20);
        });
        socket.on('error', () => resolve());
      });
    }
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end('NONSENSE\r\n\r\n'));
      socket.on('data', () => {});
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.setTimeout(5_000, () => socket.destroy());
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = chain.gateway.output().slice(before);
    expect(lines).not.toContain('ECONNRESET');
    expect(lines).toContain('Refused a malformed HTTP request');
    expect(chain.gateway.child.exitCode).toBeNull();
  });
});
