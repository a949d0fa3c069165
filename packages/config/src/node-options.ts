/**
 * How every FlashCase service runs node: `NODE_OPTIONS`, set by the Dockerfiles, the services'
 * `pnpm start` and the test and bench harnesses (a deployment may set its own; an empty value gives
 * V8's own sizing).
 *
 * NOTE: on a large host V8 lets the young generation grow to two 64 MB semi-spaces, and under load
 * it does: with 30 MB of live heap, each service then held 250-340 MB resident (the young generation,
 * pages V8 pools for it, and the old generation sized by V8's growing factor). Capped at 16 MB,
 * scavenges come four times as often but each is as cheap (what survives one is what requests in
 * flight hold), so the main thread spends about 0.02 ms more per request in GC (`--trace-gc`,
 * 0.009 -> 0.026 ms) for 90-150 MB less RSS: peak 183 MB ai-proxy and 190 MB gateway under the
 * bench's load, within the 200 MB the performance issue asks, at a throughput the bench cannot tell
 * from the default (paired, 4 rounds: 1.08x and 0.95x). Set from outside because heap limits are
 * fixed before `main.js` runs.
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=16';
