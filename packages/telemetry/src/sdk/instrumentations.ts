import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';

/**
 * The parts of our pipeline `FLASHCASE_OTEL_STOCK` (a comma list, or `all`) hands back to the stock
 * libraries, so `pnpm bench` can measure each against what it replaces (docs/adr/0002, 0003).
 */
export interface StockParts {
  /** `@opentelemetry/instrumentation-http`'s SERVER spans instead of the shared middleware's. */
  http: boolean;
  /** winston's own pipeline and `@opentelemetry/winston-transport`. */
  logs: boolean;
}

const STOCK_PART_NAMES = new Set(['http', 'logs', 'all']);

/** The parts `FLASHCASE_OTEL_STOCK` names; unknown names are reported once and ignored. */
export function stockParts(env: NodeJS.ProcessEnv, log?: { warn(message: string): void }): StockParts {
  const names = new Set(nameList(env.FLASHCASE_OTEL_STOCK));
  const unknown = [...names].filter((name) => !STOCK_PART_NAMES.has(name));
  if (unknown.length > 0) {
    log?.warn(`FLASHCASE_OTEL_STOCK: unknown parts ignored: ${unknown.join(', ')} (known: http, logs, all)`);
  }
  const all = names.has('all');
  return { http: all || names.has('http'), logs: all || names.has('logs') };
}

/**
 * The instrumentations a service may run, by the names `OTEL_NODE_ENABLED_INSTRUMENTATIONS` and
 * `OTEL_NODE_DISABLED_INSTRUMENTATIONS` use (the package name without `@opentelemetry/instrumentation-`).
 *
 * NOTE: instrumentation-http is not on by default: the SERVER span of a request comes from the
 * shared express middleware (`http/server-span.ts`; docs/adr/0002 has the measurement), and the
 * services make no outgoing node:http calls worth a span (the upstream and gateway clients are
 * undici, with spans of their own; the OTLP exports are not traced).
 */
const AVAILABLE_INSTRUMENTATIONS = new Map<string, () => Instrumentation>([
  // One span per route handler, none per middleware or router layer. With Express 5 it is named
  // just `request handler` (the route is its `http.route` attribute).
  [
    'express',
    () => new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
  ],
  ['ioredis', () => new IORedisInstrumentation({ requireParentSpan: true })],
  ['runtime-node', () => new RuntimeNodeInstrumentation()],
  // The stock SERVER spans (`FLASHCASE_OTEL_STOCK=http`); the shared middleware then names them
  // by route instead of making its own. Prometheus scrapes are not traced.
  [
    'http',
    () =>
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => req.url === '/metrics',
        disableOutgoingRequestInstrumentation: true,
      }),
  ],
]);

/**
 * Off unless enabled by name. The express route-handler span repeats what the SERVER span already
 * says (route template, timing) and its per-layer wrapper cost a tenth to a fifth of ai-proxy's CPU
 * (measured with `pnpm bench`); `OTEL_NODE_ENABLED_INSTRUMENTATIONS=express,ioredis,runtime-node`
 * brings it back.
 */
const DEFAULT_INSTRUMENTATIONS = ['ioredis', 'runtime-node'];

function nameList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * The instrumentations to run, as the Node auto-instrumentation package reads the same variables:
 * `OTEL_NODE_ENABLED_INSTRUMENTATIONS` (only these) applies first, then
 * `OTEL_NODE_DISABLED_INSTRUMENTATIONS` (not these); a name in both is disabled. Unknown names are
 * reported once and ignored.
 */
export function selectInstrumentations(
  env: NodeJS.ProcessEnv,
  stock: StockParts,
  log: { warn(message: string): void },
): Instrumentation[] {
  const enabled = [...(nameList(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) ?? DEFAULT_INSTRUMENTATIONS)];
  if (stock.http) enabled.push('http');
  const disabled = new Set(nameList(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS));
  const unknown = [...enabled, ...disabled].filter((name) => !AVAILABLE_INSTRUMENTATIONS.has(name));
  if (unknown.length > 0) {
    log.warn(
      `unknown instrumentation names ignored: ${unknown.join(', ')} (known: ${[...AVAILABLE_INSTRUMENTATIONS.keys()].join(', ')})`,
    );
  }
  const selected: Instrumentation[] = [];
  for (const name of new Set(enabled)) {
    const create = AVAILABLE_INSTRUMENTATIONS.get(name);
    if (create && !disabled.has(name)) selected.push(create());
  }
  return selected;
}
