/**
 * Target ids and what they name. A target is a letter, `a`..`e`; the c and d stacks also take a
 * variant (`d-otel-off`: extra environment), a baseline checkout (`d@base`: another tree's
 * services), or both (`d-stock-all@base`: the variant's environment on the baseline's services).
 */

/** The five targets of CONTRACT.md section 9. */
export type Letter = 'a' | 'b' | 'c' | 'd' | 'e';

export const LETTER_LABELS: Readonly<Record<Letter, string>> = {
  a: 'upstream (direct)',
  b: 'bare node:http hop',
  c: 'ai-proxy',
  d: 'gateway -> ai-proxy',
  e: 'portkey gateway 1.15.2',
};

/** How a variant's stack differs from the plain one. */
export interface Variant {
  /** Appended to the letter's label in the table. */
  readonly label: string;
  /** Laid over the services' base environment (an empty value clears a base one). */
  readonly env: Readonly<Record<string, string>>;
  /** Node command-line flags (some, like `--heap-growing-percent`, NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
  /** Another checkout whose built services run instead of this tree's. */
  readonly root?: string;
}

const NO_LIMIT = '1000000000';

/** The variants of the c and d stacks; `full` is the plain stack. */
export const VARIANTS: Readonly<Record<string, Variant>> = {
  full: { label: '', env: {} },
  'otel-off': { label: ', OTEL_SDK_DISABLED', env: { OTEL_SDK_DISABLED: 'true' } },
  // What a smaller heap costs and saves: V8's young generation capped (on a large host it grows to
  // 64 MB x 2 under load), and also the old generation (the setting that reaches 200 MB).
  'small-young': { label: ', semi-space 8 MB', env: { NODE_OPTIONS: '--max-semi-space-size=8' } },
  // The services run with SERVICE_NODE_OPTIONS (a 16 MB semi-space); this is V8's own sizing.
  'v8-heap': { label: ', V8 heap sizing', env: { NODE_OPTIONS: '' } },
  'capped-heap': {
    label: ', semi 8 MB + old 160 MB',
    env: { NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=160' },
  },
  // The old generation grown 20 % past what survives a full GC instead of V8's factor (up to 4x on
  // an idle-looking heap); a command-line flag (NODE_OPTIONS refuses it).
  'tight-old': { label: ', heap growing 20 %', env: {}, nodeArgs: ['--heap-growing-percent=20'] },
  // Limits on but never reached: the AI limit script runs on every call (and carries its in-flight
  // record), as in production, where the default limits are on.
  limits: {
    label: ', limits on',
    env: {
      RATE_LIMIT_AI_PER_MINUTE: NO_LIMIT,
      RATE_LIMIT_AI_PER_HOUR: NO_LIMIT,
      RATE_LIMIT_GENERAL_PER_MINUTE: NO_LIMIT,
      RATE_LIMIT_GENERAL_PER_HOUR: NO_LIMIT,
    },
  },
  sampled: {
    label: ', 10 % sampled',
    env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', LOG_SAMPLE_RATE: '0.1' },
  },
  // Each swaps one of @flashcase/telemetry's own parts back to the stock OpenTelemetry library, so
  // the two are measured side by side in the same rounds (docs/adr/0002, 0003).
  'stock-http': { label: ', instrumentation-http', env: { FLASHCASE_OTEL_STOCK: 'http' } },
  'stock-logs': { label: ', stock winston logs', env: { FLASHCASE_OTEL_STOCK: 'logs' } },
  'stock-all': { label: ', all stock', env: { FLASHCASE_OTEL_STOCK: 'http,logs' } },
  // OTLP in protobuf (the spec's default) instead of JSON.
  proto: { label: ', OTLP http/protobuf', env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' } },
};

/** A checked target id and the stack it runs on. */
export interface Target {
  readonly id: string;
  readonly letter: Letter;
  /** The variant's name (`full` for none). */
  readonly variant: string;
  readonly baseline?: string;
  /** Which c/d stack the target runs on: c and d of one key share it. */
  readonly stackKey: string;
  /** The variant's environment and arguments, on the baseline's services when it has one. */
  readonly stack: Variant;
  readonly label: string;
}

/**
 * `--baseline=<dir>` or `--baseline=name:<dir>,name:<dir>`: other built checkouts, by name (`base`
 * when unnamed), whose c and d stacks run as `c@name` / `d@name` in the same interleaved rounds.
 */
export function parseBaselines(spec: string): Map<string, string> {
  return new Map(
    spec
      .split(',')
      .filter(Boolean)
      .map((part): [string, string] => {
        const colon = part.indexOf(':');
        return colon > 0 ? [part.slice(0, colon), part.slice(colon + 1)] : ['base', part];
      }),
  );
}

/** Every target id that can be asked for, for the error message. */
function known(): string {
  const named = Object.keys(VARIANTS).filter((v) => v !== 'full');
  return `a, b, c, d, e, ${named.map((v) => `c|d-${v}`).join(', ')}, c|d[-<variant>]@<--baseline name>`;
}

/** Checks a target id against the variants and the baselines; throws one line naming the id. */
export function parseTarget(id: string, baselines: ReadonlyMap<string, string> = new Map()): Target {
  const m = /^([a-e])(?:-([\w-]+))?(?:@([\w.-]+))?$/.exec(id);
  const letter = m?.[1] as Letter | undefined;
  const variant = m?.[2] ?? 'full';
  const baseline = m?.[3];
  const own = VARIANTS[variant];
  const root = baseline === undefined ? undefined : baselines.get(baseline);
  if (
    !letter ||
    !own ||
    ((variant !== 'full' || baseline !== undefined) && letter !== 'c' && letter !== 'd') ||
    (baseline !== undefined && root === undefined)
  ) {
    throw new Error(`unknown target ${id}: ${known()}`);
  }
  const stackKey = baseline === undefined ? variant : variant === 'full' ? baseline : `${variant}@${baseline}`;
  const stack: Variant = root === undefined ? own : { ...own, label: `${own.label} @${baseline}`, root };
  const label = `${LETTER_LABELS[letter]}${letter === 'c' || letter === 'd' ? stack.label : ''}`;
  return { id, letter, variant, ...(baseline === undefined ? {} : { baseline }), stackKey, stack, label };
}
