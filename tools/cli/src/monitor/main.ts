// `pnpm monitor`: polls the gateway's `/api/v1/ai/usage` and draws a compact live view (or one JSON
// line per poll with --json). Exits non-zero with a clear message when the token is refused (3) or
// the gateway cannot be reached (4), so scripts and CI can tell the two apart.
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, GatewayError, getJson } from '../gateway/client';
import { USAGE_PATH, type Usage } from '../gateway/usage';
import { style } from '../terminal/style';
import { MONITOR_USAGE, type MonitorOptions, parseMonitorArgs, UsageError } from './options';
import { renderView } from './view';

const TOKEN_HINT = 'mint an admin token: export FLASHCASE_TOKEN=$(pnpm run token --user ops --role admin)';
const START_HINT = 'is the stack running? start it with: pnpm start';

function fail(err: GatewayError): never {
  const hint = err.kind === 'auth' ? TOKEN_HINT : err.kind === 'connection' ? START_HINT : undefined;
  process.stderr.write(`monitor: ${err.message}\n${hint ? `  ${hint}\n` : ''}`);
  process.exit(EXIT[err.kind]);
}

async function run(options: MonitorOptions): Promise<void> {
  const live = !options.once && !options.json && process.stdout.isTTY === true;
  const s = style(options.color);
  let last: Usage | undefined;
  for (;;) {
    let problem: string | undefined;
    try {
      last = await getJson<Usage>(options.url, USAGE_PATH, options.token);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      // A refused token or a gateway that is gone ends the monitor; an odd answer (ai-proxy down:
      // 502, store away: 503) is shown and polled again, unless this is a one-shot run.
      if (err.kind !== 'answer' || options.once || !last) fail(err);
      problem = err.message;
    }
    if (options.json) {
      if (last && !problem)
        process.stdout.write(`${JSON.stringify({ polled_at: new Date().toISOString(), ...last })}\n`);
      else if (problem) process.stderr.write(`monitor: ${problem}\n`);
    } else if (last) {
      const lines = renderView(last, {
        url: options.url,
        now: new Date(),
        style: s,
        columns: process.stdout.columns || 80,
        problem,
      });
      const footer = live ? [s.dim(`every ${options.intervalS}s · Ctrl-C quits`)] : [];
      // Live: redraw in place (cursor home, clear screen); otherwise one block per poll.
      process.stdout.write(`${live ? '\x1b[H\x1b[2J' : ''}${[...lines, ...footer].join('\n')}\n`);
    }
    if (options.once) return;
    await sleep(options.intervalS * 1000);
  }
}

let options: MonitorOptions;
try {
  options = parseMonitorArgs(process.argv.slice(2), process.env, process.stdout.isTTY === true);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`monitor: ${err.message}\n\n${MONITOR_USAGE}\n`);
  process.exit(EXIT.usage);
}
if (options.help) {
  process.stdout.write(`${MONITOR_USAGE}\n`);
  process.exit(EXIT.ok);
}
process.on('SIGINT', () => process.exit(EXIT.ok));
run(options).catch((err: unknown) => {
  process.stderr.write(`monitor: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT.answer);
});
