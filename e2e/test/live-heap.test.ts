import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspectorUrl, liveHeap } from '@flashcase/testkit';
import { describe, expect, it } from 'vitest';

/** A real node with its inspector on a free loopback port, running `body` every 20 ms. */
async function withProcess(body: string, check: (url: string) => Promise<void>): Promise<void> {
  const script = `const kept = []; let i = 0; setInterval(() => { i++; ${body}; }, 20);`;
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  try {
    for (let waited = 0; !inspectorUrl(output) && waited < 10_000; waited += 20) await sleep(20);
    await check(inspectorUrl(output) as string);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('the heap left after a full collection (the soak leak check)', () => {
  it('sees objects and Buffers a process keeps', async () => {
    await withProcess('kept.push(new Array(64 * 1024).fill(i), Buffer.alloc(256 * 1024))', async (url) => {
      const before = await liveHeap(url);
      await sleep(1000);
      const after = await liveHeap(url);
      // about 50 steps of 0.5 MB of array and 0.25 MB of Buffer
      expect(after.usedMb - before.usedMb).toBeGreaterThan(10);
      expect(after.backingMb - before.backingMb).toBeGreaterThan(5);
    });
  });

  it('does not count what a process allocates and lets go', async () => {
    await withProcess('new Array(64 * 1024).fill(i); Buffer.alloc(256 * 1024)', async (url) => {
      const before = await liveHeap(url);
      await sleep(1000);
      const after = await liveHeap(url);
      expect(Math.abs(after.usedMb - before.usedMb)).toBeLessThan(1);
      expect(Math.abs(after.backingMb - before.backingMb)).toBeLessThan(1);
    });
  });
});
