/**
 * The load: autocannon for plain JSON calls (throughput at many connections, latency at one), and a
 * sequential streaming client that times the first byte of every SSE answer. Every answer is
 * checked: a run with any non-2xx, error, timeout or body that is not a real completion is invalid.
 */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface Endpoint {
  url: string;
  headers: Record<string, string>;
}

export interface RunStats {
  connections: number;
  durationS: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  rps: number;
  /** Mean latency from the rate: 1000 * connections / rps (exact for 1 connection). */
  meanMs: number;
  /** Precise per-response latencies (ms), kept for 1-connection runs only. */
  samples: number[];
}

export interface StreamStats {
  durationS: number;
  requests: number;
  ok: number;
  failures: number;
  statusCodes: Record<string, number>;
  /** Time to the first body byte (ms), per request. */
  ttfbMs: number[];
  /** Time to the end of the stream (ms), per request. */
  totalMs: number[];
}

export const CHAT_BODY = {
  model: 'grok-4-fast',
  messages: [{ role: 'user', content: 'What is ATP, in one sentence?' }],
  max_tokens: 64,
};

/** A real Chat Completions answer, whoever relays it: choices with content, and the usage. */
function isCompletion(raw: string | Buffer | undefined): boolean {
  const body = typeof raw === 'string' ? raw : (raw?.toString() ?? '');
  return (
    body.startsWith('{') &&
    body.includes('"choices":[{') &&
    body.includes('"content":"') &&
    body.includes('"total_tokens"')
  );
}

/** Runs autocannon against `endpoint` with the JSON chat body. */
export function runJson(endpoint: Endpoint, connections: number, durationS: number): Promise<RunStats> {
  const samples: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: endpoint.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...endpoint.headers },
        body: JSON.stringify(CHAT_BODY),
        connections,
        duration: durationS,
        pipelining: 1,
        timeout: 10,
        verifyBody: isCompletion,
      },
      (err, result) => {
        if (err) return reject(err);
        const statusCodes: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat?.count ?? 0;
        const ok = (result['2xx'] ?? 0) - (result.mismatches ?? 0);
        const rps = result['2xx'] / result.duration;
        resolve({
          connections,
          durationS: result.duration,
          requests: result.requests.total,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
          statusCodes,
          rps,
          meanMs: rps > 0 ? (1000 * connections) / rps : Number.NaN,
          samples,
        });
      },
    );
    if (connections === 1) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
      });
    }
  });
}

/**
 * One connection, streaming requests back to back for `durationS`: time to first body byte and to
 * the end, each answer checked for status 200, at least one content delta and the final `[DONE]`.
 */
export async function runStream(endpoint: Endpoint, durationS: number): Promise<StreamStats> {
  const url = new URL(endpoint.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ ...CHAT_BODY, stream: true });
  const stats: StreamStats = { durationS, requests: 0, ok: 0, failures: 0, statusCodes: {}, ttfbMs: [], totalMs: [] };
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    accept: 'text/event-stream',
    ...endpoint.headers,
  };
  const deadline = performance.now() + durationS * 1000;
  while (performance.now() < deadline) {
    const outcome = await new Promise<{ status: number; ttfb: number; total: number; text: string } | undefined>(
      (resolve) => {
        const started = performance.now();
        let ttfb = -1;
        let text = '';
        const req = request(
          { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
          (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              if (ttfb < 0) ttfb = performance.now() - started;
              text += chunk;
            });
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, ttfb, total: performance.now() - started, text }),
            );
            res.on('error', () => resolve(undefined));
          },
        );
        req.setTimeout(10_000, () => req.destroy());
        req.on('error', () => resolve(undefined));
        req.end(body);
      },
    );
    stats.requests++;
    if (!outcome) {
      stats.failures++;
      continue;
    }
    const code = String(outcome.status);
    stats.statusCodes[code] = (stats.statusCodes[code] ?? 0) + 1;
    const real =
      outcome.status === 200 && outcome.text.includes('"delta":{') && outcome.text.trimEnd().endsWith('data: [DONE]');
    if (!real) {
      stats.failures++;
      continue;
    }
    stats.ok++;
    stats.ttfbMs.push(outcome.ttfb);
    stats.totalMs.push(outcome.total);
  }
  agent.destroy();
  return stats;
}
