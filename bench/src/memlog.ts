/**
 * Preloaded into each service by `pnpm bench -- --memlog` (`node --import`): every 2 s, one line on
 * stderr with where its memory is (RSS, V8 heap, ArrayBuffers outside it), which the bench sums up.
 */
import { getHeapStatistics } from 'node:v8';

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
setInterval(() => {
  const m = process.memoryUsage();
  const h = getHeapStatistics();
  process.stderr.write(
    `MEMLOG rss=${mb(m.rss)} heapTotal=${mb(m.heapTotal)} heapUsed=${mb(m.heapUsed)} external=${mb(m.external)} arrayBuffers=${mb(m.arrayBuffers)} malloced=${mb(h.malloced_memory)}\n`,
  );
}, 2000).unref();
