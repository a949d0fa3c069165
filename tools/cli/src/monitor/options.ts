import { parseArgs } from 'node:util';

export const MONITOR_USAGE = `usage: pnpm monitor [--url URL] [--token JWT] [--interval SECONDS] [--json] [--once]

  --url       the gateway (default http://127.0.0.1:8000)
  --token     an admin JWT (default: $FLASHCASE_TOKEN); mint one with
              export FLASHCASE_TOKEN=$(pnpm run token --user ops --role admin)
  --interval  seconds between polls (default 5)
  --json      one JSON line per poll instead of the view
  --once      poll once and exit (for scripts and tests)

exit codes: 0 ok, 1 unexpected answer, 2 bad arguments, 3 token refused, 4 gateway unreachable`;

/** `pnpm monitor`'s settings, parsed once at start-up. */
export interface MonitorOptions {
  readonly url: string;
  readonly token: string;
  readonly intervalS: number;
  readonly json: boolean;
  readonly once: boolean;
  readonly help: boolean;
  /** Colour and in-place redraw: on a terminal, without NO_COLOR (https://no-color.org). */
  readonly color: boolean;
}

/** A bad command line; the message names the option. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `http(s)://host[:port]` without a trailing slash; anything else is a UsageError naming `--url`. */
export function parseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http(s) URL, got "${raw}"`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Parses the arguments (a leading `--`, as some pnpm invocations pass, is ignored) with the token
 * from `--token` or `FLASHCASE_TOKEN`. Throws UsageError for unknown options, a bad URL or interval,
 * or no token at all (unless `--help`). `isTTY` is whether stdout is a terminal.
 */
export function parseMonitorArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  isTTY = false,
): MonitorOptions {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const help = values.help === true;
  const token = (values.token ?? env.FLASHCASE_TOKEN ?? '').trim().replace(/^Bearer\s+/i, '');
  if (!token && !help) throw new UsageError('no token: pass --token or set FLASHCASE_TOKEN (an admin JWT)');
  const intervalS = Number(values.interval ?? '5');
  if (!Number.isFinite(intervalS) || intervalS < 0.5 || intervalS > 3600) {
    throw new UsageError(`--interval must be seconds between 0.5 and 3600, got "${values.interval}"`);
  }
  const options: MonitorOptions = {
    url: parseBaseUrl(values.url ?? 'http://127.0.0.1:8000'),
    token,
    intervalS,
    json: values.json === true,
    once: values.once === true,
    help,
    color: isTTY && !env.NO_COLOR,
  };
  return Object.freeze(options);
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      interval: { type: 'string' },
      json: { type: 'boolean' },
      once: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
