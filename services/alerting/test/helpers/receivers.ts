import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One mail as the SMTP server received it. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  raw: string;
  at: number;
}

/** A real SMTP server (the `smtp-server` library) on a loopback port that keeps every mail. */
export interface SmtpSink {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Refuse the next `n` messages with a 451 (temporary failure). */
  failNext(n: number): void;
  close(): Promise<void>;
}

/** Unfolds a header's value from the raw message (`Subject:` may be folded over lines). */
function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const match = new RegExp(`^${name}:(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return (match?.[1] ?? '').replace(/\r?\n[ \t]/g, ' ').trim();
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  let failures = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const err = new Error('try again later') as Error & { responseCode: number };
          err.responseCode = 451;
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: header(raw, 'Subject'),
          raw,
          at: Date.now(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    failNext(n) {
      failures = n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One request the HTTP receiver got. */
export interface ReceivedRequest {
  path: string;
  body: Record<string, unknown>;
  at: number;
}

/** How the receiver answers a path: a status, or `hang` (never answers). */
export type Answer = number | 'hang';

/** A loopback HTTP server standing in for Slack and the generic webhook: it keeps every POST. */
export interface HttpSink {
  base: string;
  /** Requests answered with a 2xx. */
  requests: ReceivedRequest[];
  /** Every request, with the status it got ('hang' when it got none). */
  attempts: Array<ReceivedRequest & { answer: Answer }>;
  /** Answers for `path`, in order; when used up, 200. */
  script(path: string, answers: Answer[]): void;
  on(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const requests: ReceivedRequest[] = [];
  const attempts: Array<ReceivedRequest & { answer: Answer }> = [];
  const scripts = new Map<string, Answer[]>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { unparsed: Buffer.concat(chunks).toString('utf8') };
      }
      const answer = scripts.get(path)?.shift() ?? 200;
      attempts.push({ path, body, at: Date.now(), answer });
      if (answer === 'hang') return;
      if (answer >= 200 && answer < 300) requests.push({ path, body, at: Date.now() });
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    attempts,
    script(path, answers) {
      scripts.set(path, [...answers]);
    },
    on: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it is true, or throws after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
