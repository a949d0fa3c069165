// `pnpm token --user <id> [--role admin] [--ttl <seconds>]`: prints an HS256 development token signed
// with JWT_SECRET (or the development default), for curl, the dashboard and the openai SDK.
import { ConfigError, loadConfig } from '@flashcase/config';
import { signDevToken } from './jwt';

function arg(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

try {
  const config = loadConfig('gateway');
  const user = arg('user');
  const role = arg('role') ?? 'user';
  const ttl = Number(arg('ttl') ?? 86_400);
  if (!user || !/^[A-Za-z0-9._:@|-]{1,128}$/.test(user)) {
    process.stderr.write('usage: pnpm token --user <id> [--role user|admin] [--ttl seconds]\n');
    process.exit(2);
  }
  if (role !== 'user' && role !== 'admin') {
    process.stderr.write('--role must be user or admin\n');
    process.exit(2);
  }
  if (!Number.isInteger(ttl) || ttl <= 0) {
    process.stderr.write('--ttl must be a positive number of seconds\n');
    process.exit(2);
  }
  if (!config.auth.jwtSecret) {
    process.stderr.write('JWT_SECRET is not set (tokens from JWT_JWKS_URL issuers cannot be minted here)\n');
    process.exit(1);
  }
  process.stdout.write(`${signDevToken(config.auth.jwtSecret, user, role, ttl)}\n`);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`token: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
