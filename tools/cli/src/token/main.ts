// `pnpm run token --user <id> [--role admin] [--ttl <seconds>]`: prints an HS256 development token
// signed with JWT_SECRET (or the development default), for curl, the dashboard and the openai SDK.
// Exit codes: 0 printed, 1 no secret to sign with (or a bad environment), 2 bad arguments.
import { ConfigError, loadConfig } from '@flashcase/config';
import { UsageError } from '../monitor/options';
import { signDevToken } from './dev-token';
import { parseTokenArgs } from './options';

try {
  // The gateway's own configuration: the secret it verifies with is the one that signs.
  const config = loadConfig('gateway');
  const options = parseTokenArgs(process.argv.slice(2));
  if (!config.auth.jwtSecret) {
    process.stderr.write('JWT_SECRET is not set (tokens from JWT_JWKS_URL issuers cannot be minted here)\n');
    process.exit(1);
  }
  process.stdout.write(`${signDevToken(config.auth.jwtSecret, options.user, options.role, options.ttlS)}\n`);
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`token: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
