/**
 * What a process's heap holds after a full collection, asked over its inspector (a process started
 * with `--inspect=127.0.0.1:0`; a test-only flag). That is what a leak grows. RSS and the heap
 * between collections also move with V8 sizing its generations and with garbage not yet collected,
 * which is not a leak; a soak that waits for V8's own full collections may see only one or two.
 */
export interface LiveHeap {
  /** JavaScript objects still reachable, MB. */
  usedMb: number;
  /** Bytes behind ArrayBuffers (Buffers) and external strings still reachable, MB. */
  backingMb: number;
}

/** The inspector's address from what the process printed ("Debugger listening on ws://..."). */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

/** Forces a full collection in the process behind `url`, then reads what is left. */
export async function liveHeap(url: string, timeoutMs = 30_000): Promise<LiveHeap> {
  const ws = new WebSocket(url);
  const replies = new Map<number, (result: Record<string, unknown>) => void>();
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`inspector at ${url}: no answer in ${timeoutMs} ms`)), timeoutMs);
    ws.addEventListener('error', () => reject(new Error(`inspector at ${url}: connection failed`)));
  });
  ws.addEventListener('message', (event) => {
    const reply = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> };
    if (reply.id !== undefined) replies.get(reply.id)?.(reply.result ?? {});
  });
  let nextId = 0;
  const call = (method: string) =>
    Promise.race([
      failed,
      new Promise<Record<string, unknown>>((resolve) => {
        const id = ++nextId;
        replies.set(id, resolve);
        ws.send(JSON.stringify({ id, method }));
      }),
    ]);
  try {
    await Promise.race([failed, new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }))]);
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    const mb = (bytes: unknown) => Number(bytes ?? 0) / 1048576;
    return { usedMb: mb(usage.usedSize), backingMb: mb(usage.backingStorageSize) };
  } finally {
    clearTimeout(timer);
    ws.close();
  }
}
