// `pnpm loadgen`: realistic mixed AI traffic through the gateway (chat, rewrite, autocomplete and
// OpenAI chat/completions, streamed and not, many users, an occasional rate-limit burst and a
// closed tab), bounded by --duration and --rps, with a progress bar, so every dashboard chart moves.
import { ConfigError, loadConfig } from '@flashcase/config';
import { EXIT, GatewayError } from '../gateway/client';
import { UsageError } from '../monitor/options';
import { signDevToken } from '../token/dev-token';
import { LOADGEN_USAGE, type LoadgenOptions, parseLoadgenArgs } from './options';
import { progressLine, summary } from './progress';
import { runLoad } from './run';
import { MIX, STREAM_SHARE } from './traffic';

function jwtSecret(): string {
  try {
    const secret = loadConfig('gateway').auth.jwtSecret;
    if (secret) return secret;
    process.stderr.write('loadgen: JWT_JWKS_URL is set and JWT_SECRET is not: tokens cannot be minted here\n');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`loadgen: ${err.message}\n`);
  }
  process.exit(EXIT.usage);
}

async function main(options: LoadgenOptions): Promise<void> {
  const secret = jwtSecret();
  const ttlS = Math.ceil(options.durationS) + 600;
  const userTokens = Array.from({ length: options.users }, (_, i) =>
    signDevToken(secret, `loadgen-user-${String(i + 1).padStart(4, '0')}`, 'user', ttlS),
  );
  const run = Date.now().toString(36);
  const burstTokens = options.burst
    ? Array.from({ length: Math.ceil(options.durationS / 15) + 2 }, (_, i) =>
        signDevToken(secret, `loadgen-burst-${run}-${i}`, 'user', ttlS),
      )
    : [];
  const mix = MIX.map(([name, share]) => `${name} ${Math.round(share * 100)}%`).join(', ');
  process.stderr.write(
    `loadgen: ${options.rps} req/s for ${options.durationS}s over ${options.users} users through ${options.url}\n` +
      `         mix ${mix}; ${Math.round(STREAM_SHARE * 100)}% streamed${options.burst ? '; a rate-limit burst every 15s' : ''}\n`,
  );
  let lastLine = 0;
  const started = Date.now();
  try {
    const tally = await runLoad({
      url: options.url,
      durationS: options.durationS,
      rps: options.rps,
      concurrency: options.concurrency,
      userTokens,
      burstTokens,
      progressEveryMs: options.tty ? 200 : 5_000,
      onProgress: (t, elapsedMs) => {
        const line = progressLine(t, elapsedMs, options.durationS);
        if (options.tty) process.stderr.write(`\r\x1b[2K${line}`);
        else if (Date.now() - lastLine >= 4_000) {
          lastLine = Date.now();
          process.stderr.write(`${line}\n`);
        }
      },
    });
    if (options.tty) process.stderr.write('\n');
    process.stdout.write(`${summary(tally, Date.now() - started, options.url)}\n`);
    process.exit(tally.ok > 0 || tally.limited > 0 ? EXIT.ok : EXIT.answer);
  } catch (err) {
    if (options.tty) process.stderr.write('\n');
    if (!(err instanceof GatewayError)) throw err;
    const hint = err.kind === 'connection' ? '\n  is the stack running? start it with: pnpm start' : '';
    process.stderr.write(`loadgen: ${err.message}${hint}\n`);
    process.exit(EXIT[err.kind]);
  }
}

let options: LoadgenOptions;
try {
  options = parseLoadgenArgs(process.argv.slice(2), process.stderr.isTTY === true);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`loadgen: ${err.message}\n\n${LOADGEN_USAGE}\n`);
  process.exit(EXIT.usage);
}
if (options.help) {
  process.stdout.write(`${LOADGEN_USAGE}\n`);
  process.exit(EXIT.ok);
}
main(options).catch((err: unknown) => {
  process.stderr.write(`loadgen: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(EXIT.answer);
});
