// `pnpm reconcile`: rebuilds the usage counters from the AI usage records (a file or Loki),
// compares them with the store and, with --write, restores the store. Exit codes in RECONCILE_USAGE.
import { GatewayError } from '../gateway/client';
import { UsageError } from '../monitor/options';
import { bar, style } from '../terminal/style';
import { parseReconcileArgs, RECONCILE_USAGE, type ReconcileOptions } from './options';
import { renderReport } from './report';
import { exitCodeOf, RefusedWrite, reconcile } from './run';
import { apiStore, type ReconcileStore, redisStore } from './store';

/** Redraws one progress line on stderr, at most every 100 ms. */
function progressBar(): { update(fraction: number): void; done(): void } {
  let last = 0;
  return {
    update(fraction) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      process.stderr.write(`\rreading [${bar(fraction, 30)}] ${Math.floor(Math.min(1, fraction) * 100)}%`);
    },
    done() {
      process.stderr.write('\r\x1b[2K');
    },
  };
}

async function main(options: ReconcileOptions): Promise<number> {
  let store: ReconcileStore;
  try {
    store =
      options.store.kind === 'redis'
        ? await redisStore(options.store.url, options.store.prefix)
        : apiStore(options.store.url, options.store.token);
  } catch (err) {
    process.stderr.write(`reconcile: cannot reach the store (${(err as Error).message})\n`);
    return 3;
  }
  const progress = options.progress ? progressBar() : undefined;
  try {
    const report = await reconcile(options, store, progress && ((f) => progress.update(f)));
    progress?.done();
    process.stdout.write(
      options.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderReport(report, style(options.progress))}\n`,
    );
    return exitCodeOf(report);
  } catch (err) {
    progress?.done();
    if (err instanceof RefusedWrite) {
      process.stderr.write(`reconcile: ${err.message}\n`);
      return 2;
    }
    const what =
      err instanceof GatewayError
        ? 'the usage API'
        : options.source.kind === 'loki'
          ? 'Loki or the store'
          : 'the input or the store';
    process.stderr.write(`reconcile: cannot read ${what}: ${(err as Error).message}\n`);
    return 3;
  } finally {
    await store.close();
  }
}

let options: ReconcileOptions;
try {
  options = parseReconcileArgs(process.argv.slice(2), process.env, process.stderr.isTTY === true);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`reconcile: ${err.message}\n\n${RECONCILE_USAGE}\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(`${RECONCILE_USAGE}\n`);
  process.exit(0);
}
main(options).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`reconcile: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
