/**
 * Event-loop delay from a service's Prometheus `/metrics`. The services export it through
 * `@opentelemetry/instrumentation-runtime-node`, whose histogram is reset at every collection: a
 * scrape before the streams starts the window, the one after reads its p99. Node samples the loop
 * every 10 ms and records the whole wait, so an idle loop reads about 10 ms.
 */

/**
 * The Prometheus names of runtime-node's `nodejs.eventloop.delay.p99` gauge (seconds): as our
 * services' exporter writes it, and with the unit suffix other Prometheus exporters add.
 */
export const ELD_P99_NAMES = ['nodejs_eventloop_delay_p99', 'nodejs_eventloop_delay_p99_seconds'] as const;

/** The value of an unlabelled or labelled sample `name` in a Prometheus text exposition; undefined when absent. */
export function sampleValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(
      rest
        .slice(rest.lastIndexOf('}') + 1)
        .trim()
        .split(' ')[0],
    );
    if (Number.isFinite(value)) return value;
  }
  return undefined;
}

/** Scrapes `url` and returns the event-loop delay p99 in ms; undefined when it failed or has none yet. */
export async function eventLoopDelayP99Ms(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const seconds = ELD_P99_NAMES.map((name) => sampleValue(text, name)).find((v) => v !== undefined);
    return seconds === undefined ? undefined : seconds * 1000;
  } catch {
    return undefined;
  }
}
