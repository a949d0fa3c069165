/**
 * `pnpm bench` (CONTRACT.md section 9): the proxy chain against a bare Node hop and a peer gateway,
 * on a zero-delay OpenAI-compatible upstream started here on loopback, in interleaved rounds so that
 * machine drift hits every target alike.
 *
 *   (a) upstream       the fake upstream itself
 *   (b) bare hop       a node:http keep-alive one-hop proxy (the floor for any Node proxy)
 *   (c) ai-proxy       ai-proxy alone, full telemetry (OTLP traces + logs, /metrics) and Redis counters
 *   (d) gateway        gateway -> ai-proxy, the same
 *   (e) portkey        @portkey-ai/gateway (pinned) with the upstream as a custom OpenAI host
 *
 * Variants of c and d (targets/ids.ts) and other checkouts (`--baseline`) run in the same rounds;
 * `--soak`, `--reports` and `--streams` measure memory over time, the spend reports and many open
 * streams instead (bench/README.md).
 * Limits are off (RATE_LIMIT_*=0) so nothing is refused; every answer is checked (status 200 and a
 * real completion), and a target with any failure is marked invalid rather than reported as fast.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchFlags, parseFlags } from './flags.ts';
import { sampleMemory } from './processes.ts';
import { writeReport } from './report/write-report.ts';
import { runReportsBench } from './reports.ts';
import { createProcessGroup, type ProcessGroup } from './run/process-group.ts';
import { benchSettings, measure, openSession } from './run/session.ts';
import { soak } from './run/soak.ts';
import { deleteKeys } from './run/store-keys.ts';
import { runStreamsScenario } from './streams/scenario.ts';
import { parseTarget, type Target } from './targets/ids.ts';

const BENCH_DIR = join(import.meta.dirname, '..');

async function main(): Promise<void> {
  const startedAt = Date.now();
  const flags = parseFlags(process.argv.slice(2));
  const targets = flags.targets.map((id) => parseTarget(id, flags.baselines));
  const logDir = mkdtempSync(join(tmpdir(), 'flashcase-bench-'));
  const processes = createProcessGroup({ logDir, cpuProf: flags.cpuProf, memlog: flags.memlog });
  const load = loadavg().map((l) => l.toFixed(2));
  process.stdout.write(
    `flashcase bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}, load ${load.join(' ')}\nlogs: ${logDir}\n`,
  );
  let cleaned: Promise<void> | undefined;
  const cleanUp = () => {
    cleaned ??= stopAndClean(processes);
    return cleaned;
  };
  try {
    if (flags.reportsUsers !== undefined) return await spendReports(processes, flags, flags.reportsUsers);
    if (flags.streams !== undefined) {
      const text = await runStreamsScenario(processes, {
        streams: flags.streams,
        rounds: flags.rounds,
        pacing: { chunks: flags.streamChunks, intervalMs: flags.streamIntervalMs },
        out: flags.out ?? join(BENCH_DIR, 'results.json'),
        log: (line) => process.stdout.write(line),
        extraTargets: targets.filter((t) => t.id !== t.letter),
      });
      process.stdout.write(text);
      return;
    }
    // The soak runs one chain: the first (d) target named (d-v8-heap, d@base, ...), else (d).
    const soakTarget = targets.find((t) => t.letter === 'd') ?? parseTarget('d');
    const wanted: Target[] = flags.soakS === undefined ? targets : [soakTarget];
    const session = await openSession(processes, wanted, { inspect: flags.soakS !== undefined });
    const stopSampling = sampleMemory(() => processes.services());
    if (flags.soakS !== undefined) {
      const out = flags.out ?? join(logDir, 'soak-results.json');
      const options = { seconds: flags.soakS, connections: flags.connections, label: soakTarget.label, out };
      const [chain] = session.running;
      if (chain) await soak(chain, options);
      return stopSampling();
    }
    const measured = await measure(session, flags, (done) => {
      const elapsed = ((Date.now() - startedAt) / 1000).toFixed(0);
      process.stdout.write(`round ${done}/${flags.rounds} done (${elapsed} s)\n`);
    });
    stopSampling();
    const services = processes.services().map((c) => c.name);
    await cleanUp();
    const memlogs = flags.memlog
      ? processes.children.map((c) => ({ name: c.name, log: readFileSync(c.logFile, 'utf8') }))
      : undefined;
    const out = flags.out ?? join(BENCH_DIR, 'results.json');
    process.stdout.write(writeReport({ startedAt, plan: flags, targets, measured, services, out, memlogs }));
  } finally {
    await cleanUp();
  }
}

/** `--reports`: the spend reports on a month of N seeded users (reports.ts), instead of the rounds. */
async function spendReports(processes: ProcessGroup, flags: BenchFlags, users: number): Promise<void> {
  const sink = await processes.start('otlp-sink', [join(import.meta.dirname, 'otlp-sink.ts')], /LISTENING (\S+)/);
  await runReportsBench({
    users,
    out: flags.out ?? join(BENCH_DIR, 'results-reports.json'),
    start: (name, args, ready, env) => processes.start(name, args, ready, env),
    sinkUrl: sink.value,
  });
}

/** Stops every process, then deletes the keys the services wrote. */
async function stopAndClean(processes: ProcessGroup): Promise<void> {
  await processes.stopAll();
  const { redisUrl, keyPrefix } = benchSettings('');
  await deleteKeys(redisUrl, keyPrefix);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
