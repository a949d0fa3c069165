import { parseArgs } from 'node:util';
import { parseBaseUrl, UsageError } from '../monitor/options';

export const LOADGEN_USAGE = `usage: pnpm loadgen [--url URL] [--duration SECONDS] [--rps N] [--users N] [--concurrency N] [--no-burst]

  --url          the gateway (default http://127.0.0.1:8000)
  --duration     seconds to run (default 60)
  --rps          requests started per second (default 4)
  --users        distinct users the requests are spread over (default 200, more for long runs:
                 enough that no user passes the AI limits of 5 a minute and 50 an hour)
  --concurrency  most requests in flight at once (default 32; beyond it a tick is skipped)
  --no-burst     no rate-limit bursts (by default a fresh user sends 8 quick calls after 3 s,
                 then every 15 s: 3 of them are refused by the AI limit of 5 a minute)

Tokens are signed with JWT_SECRET (or the development default), like pnpm run token.
exit codes: 0 ok, 1 nothing succeeded, 2 bad arguments, 3 tokens refused, 4 gateway unreachable`;

export interface LoadgenOptions {
  readonly url: string;
  readonly durationS: number;
  readonly rps: number;
  readonly users: number;
  readonly concurrency: number;
  readonly burst: boolean;
  readonly help: boolean;
  /** Progress bar redrawn in place (stderr is a terminal). */
  readonly tty: boolean;
}

function number(raw: string | undefined, fallback: number, name: string, min: number, max: number): number {
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a number between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** Parses `pnpm loadgen`'s arguments (a leading `--` is ignored); UsageError names the bad option. */
export function parseLoadgenArgs(argv: readonly string[], tty = false): LoadgenOptions {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        duration: { type: 'string' },
        rps: { type: 'string' },
        users: { type: 'string' },
        concurrency: { type: 'string' },
        'no-burst': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const durationS = number(str('duration'), 60, 'duration', 1, 86_400);
  const rps = number(str('rps'), 4, 'rps', 0.1, 1000);
  // Round robin over the users: each sends rps/users a second; 40 an hour stays under ai_per_hour.
  const defaultUsers = Math.max(200, Math.ceil((rps * Math.min(durationS, 3600)) / 40));
  return Object.freeze({
    url: parseBaseUrl(str('url') ?? 'http://127.0.0.1:8000'),
    durationS,
    rps,
    users: Math.round(number(str('users'), defaultUsers, 'users', 1, 100_000)),
    concurrency: Math.round(number(str('concurrency'), 32, 'concurrency', 1, 1000)),
    burst: values['no-burst'] !== true,
    help: values.help === true,
    tty,
  });
}
