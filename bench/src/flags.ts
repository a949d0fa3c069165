/**
 * The bench's command line, parsed once into a frozen object. Each flag may also come from the
 * environment (`BENCH_ROUNDS`, ...), so CI and scripts can set them without editing arguments.
 */
import { parseArgs } from 'node:util';
import { parseBaselines } from './targets/ids.ts';

/** What one `pnpm bench` run does. */
export interface BenchFlags {
  /** Interleaved rounds of [throughput, latency, stream] per target. */
  readonly rounds: number;
  /** Seconds of each throughput run. */
  readonly durationS: number;
  /** Seconds of each one-connection latency run. */
  readonly latencyS: number;
  /** Seconds of each streaming run. */
  readonly streamS: number;
  /** Connections of the throughput runs. */
  readonly connections: number;
  /** Target ids as given (`a`, `d-stock-export`, `d@base`), not yet checked. */
  readonly targets: readonly string[];
  /** `--soak[=S]`: seconds of the soak instead of the rounds (120 when given without a value). */
  readonly soakS: number | undefined;
  /** `--baseline=`: other built checkouts by name. */
  readonly baselines: ReadonlyMap<string, string>;
  readonly out: string | undefined;
  readonly cpuProf: boolean;
  readonly memlog: boolean;
  /** `--reports[=N]`: seeded users of the spend-reports run instead of the rounds (100 000 by default). */
  readonly reportsUsers: number | undefined;
  /**
   * `--streams[=N]`: N concurrent paced streams instead of the rounds (1000 when bare); `max` (also
   * `--streams-search`): the largest N held.
   */
  readonly streams: number | 'max' | undefined;
  /** `--stream-chunks=N`: content chunks of each paced stream. */
  readonly streamChunks: number;
  /** `--stream-interval-ms=MS`: the upstream's time between two chunks. */
  readonly streamIntervalMs: number;
}

const OPTIONAL_VALUE = new Set(['--soak', '--reports', '--streams']);

function streamsOf(raw: string | undefined, search: boolean): number | 'max' | undefined {
  if (search || raw === 'max') return 'max';
  if (raw === undefined) return undefined;
  return raw === '' ? 1000 : positive('streams', raw, { integer: true });
}

function positive(name: string, raw: string, { integer = false, zero = false } = {}): number {
  const value = Number(raw);
  const ok = Number.isFinite(value) && (zero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok) throw new Error(`--${name}=${raw}: expected a ${integer ? 'whole' : ''} number ${zero ? '>= 0' : '> 0'}`);
  return value;
}

/**
 * Parses `argv` (without node and the script), with defaults from `env`. Throws one line naming the
 * flag for a bad number or an unknown flag; target ids are checked later, against the variants.
 */
export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchFlags {
  // `pnpm bench -- --x` may hand the `--` through: it ends nothing here. `--soak`, `--reports` and
  // `--streams` take an optional value, which parseArgs has no type for: bare, they mean their default.
  const args = argv.filter((a) => a !== '--').map((a) => (OPTIONAL_VALUE.has(a) ? `${a}=` : a));
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string', default: env.BENCH_DURATION_S ?? '3' },
      'latency-duration': { type: 'string', default: env.BENCH_LATENCY_S ?? '3' },
      'stream-duration': { type: 'string', default: env.BENCH_STREAM_S ?? '2' },
      connections: { type: 'string', default: env.BENCH_CONNECTIONS ?? '50' },
      targets: { type: 'string', default: env.BENCH_TARGETS ?? 'a,b,c,d,e' },
      soak: { type: 'string' },
      baseline: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      memlog: { type: 'boolean', default: false },
      reports: { type: 'string' },
      streams: { type: 'string' },
      'streams-search': { type: 'boolean', default: false },
      'stream-chunks': { type: 'string', default: '20' },
      'stream-interval-ms': { type: 'string', default: '250' },
    },
    allowPositionals: false,
  });
  const streams = streamsOf(values.streams, values['streams-search']);
  // A stream run is long (N streams of ~5 s through four targets): one round unless asked.
  const rounds = values.rounds ?? env.BENCH_ROUNDS ?? (streams === undefined ? '3' : '1');
  return Object.freeze({
    rounds: positive('rounds', rounds, { integer: true }),
    durationS: positive('duration', values.duration),
    latencyS: positive('latency-duration', values['latency-duration']),
    streamS: positive('stream-duration', values['stream-duration'], { zero: true }),
    connections: positive('connections', values.connections, { integer: true }),
    targets: values.targets
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    soakS: values.soak === undefined ? undefined : values.soak === '' ? 120 : positive('soak', values.soak),
    baselines: parseBaselines(values.baseline ?? ''),
    out: values.out,
    cpuProf: values['cpu-prof'],
    memlog: values.memlog,
    reportsUsers:
      values.reports === undefined
        ? undefined
        : values.reports === ''
          ? 100_000
          : positive('reports', values.reports, { integer: true }),
    streams,
    streamChunks: positive('stream-chunks', values['stream-chunks'], { integer: true }),
    streamIntervalMs: positive('stream-interval-ms', values['stream-interval-ms'], { integer: true }),
  });
}
