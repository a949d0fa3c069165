#!/usr/bin/env node
/**
 * Runs the fake as its own process, for benchmarks and services started outside the test runner:
 *
 *   node packages/fake-openai/dist/cli.js --port 0 --latency-ms 0
 *
 * Prints `LISTENING <base url including /v1>` on stdout once bound, and exits 0 on SIGINT/SIGTERM.
 * Flags: --port (default 0), --host (default 127.0.0.1), --latency-ms (default 0), --api-key,
 * --reply-tokens, --record (off by default here, so a long run does not grow memory), --dialect
 * (`xai`, the default, or `openai`: the usage dialect), --no-reasoning (report 0 reasoning tokens),
 * --no-prompt-cache (report 0 cached tokens), --chunk-delay-ms (pace every stream: its first event at
 * once, then each content chunk that long after the last; 0, the default, sends a stream whole).
 * A bad flag exits 2 with one line on stderr.
 */
import { parseArgs } from 'node:util';
import { type FakeOpenAIOptions, startFakeOpenAI } from './server';
import { asDialect, type UsageDialect } from './usage';

function nonNegativeInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed) || parsed < 0) {
    throw new Error(`--${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function parseOptions(argv: string[]): FakeOpenAIOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'latency-ms': { type: 'string', default: '0' },
      'api-key': { type: 'string' },
      'reply-tokens': { type: 'string' },
      record: { type: 'boolean', default: false },
      dialect: { type: 'string', default: 'xai' },
      'no-reasoning': { type: 'boolean', default: false },
      'no-prompt-cache': { type: 'boolean', default: false },
      'chunk-delay-ms': { type: 'string', default: '0' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = nonNegativeInt('port', values.port) ?? 0;
  if (port > 65_535) throw new Error(`--port must be at most 65535, got ${port}`);
  const dialect: UsageDialect | undefined = asDialect(values.dialect);
  if (dialect === undefined) throw new Error(`--dialect must be xai or openai, got ${JSON.stringify(values.dialect)}`);
  return {
    port,
    host: values.host,
    latencyMs: nonNegativeInt('latency-ms', values['latency-ms']),
    apiKey: values['api-key'],
    replyTokens: nonNegativeInt('reply-tokens', values['reply-tokens']),
    record: values.record,
    dialect,
    reasoning: !values['no-reasoning'],
    promptCache: !values['no-prompt-cache'],
    behavior: { kind: 'ok', chunkDelayMs: nonNegativeInt('chunk-delay-ms', values['chunk-delay-ms']) ?? 0 },
  };
}

async function main(): Promise<void> {
  let options: FakeOpenAIOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fake-openai: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const fake = await startFakeOpenAI(options);
  const stop = () => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.write(`LISTENING ${fake.url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-openai: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
