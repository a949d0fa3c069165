/**
 * The upstream of the stream scenario: `@flashcase/fake-openai` with every stream paced, `chunks`
 * content chunks `interval-ms` apart (the fake's `chunkDelayMs` behaviour, which its CLI does not
 * expose). Recording off, so a long run does not grow its memory.
 *
 *   node bench/src/streams/paced-upstream.ts --chunks 20 --interval-ms 250
 *
 * Prints `LISTENING <base url with /v1>` once bound on a free loopback port.
 */
import { parseArgs } from 'node:util';
import { startFakeOpenAI } from '@flashcase/fake-openai';

const { values } = parseArgs({
  options: { chunks: { type: 'string', default: '20' }, 'interval-ms': { type: 'string', default: '250' } },
});
const chunks = Number(values.chunks);
const intervalMs = Number(values['interval-ms']);
if (!Number.isInteger(chunks) || chunks < 1 || !Number.isInteger(intervalMs) || intervalMs < 1) {
  process.stderr.write('paced-upstream: --chunks and --interval-ms must be whole numbers >= 1\n');
  process.exit(2);
}
const fake = await startFakeOpenAI({
  port: 0,
  latencyMs: 0,
  record: false,
  replyTokens: chunks,
  behavior: { kind: 'ok', chunkDelayMs: intervalMs },
});
const stop = () => {
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdout.write(`LISTENING ${fake.url}\n`);
