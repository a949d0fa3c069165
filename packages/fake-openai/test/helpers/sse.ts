/** Splits an SSE body into the payloads of its `data:` events, checking the framing on the way. */
export function sseData(text: string): string[] {
  if (!text.endsWith('\n\n'))
    throw new Error(`stream does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`not one data line: ${event}`);
      return event.slice('data: '.length);
    });
}

/** Reads a response body as text until it ends or stays silent for `quietMs`; `ended` says which. */
export async function readUntilQuiet(
  body: ReadableStream<Uint8Array>,
  quietMs: number,
): Promise<{ text: string; ended: boolean }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const quiet = new Promise<'quiet'>((resolve) => {
      timer = setTimeout(() => resolve('quiet'), quietMs);
    });
    const next = await Promise.race([reader.read(), quiet]);
    clearTimeout(timer);
    if (next === 'quiet') {
      reader.cancel().catch(() => {});
      return { text, ended: false };
    }
    if (next.done) return { text, ended: true };
    text += decoder.decode(next.value, { stream: true });
  }
}
