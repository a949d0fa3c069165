import { UsageError } from '../monitor/options';

export const TOKEN_USAGE = 'usage: pnpm run token --user <id> [--role user|admin] [--ttl seconds]';

/** What `pnpm run token` mints: the user, the role and the lifetime in seconds (24 hours by default). */
export interface TokenOptions {
  readonly user: string;
  readonly role: 'user' | 'admin';
  readonly ttlS: number;
}

/** The gateway's rule for `sub` (the same as @flashcase/telemetry's isUserId). */
const USER_ID = /^[A-Za-z0-9._:@|-]{1,128}$/;

/** The value after `--name` anywhere in argv (pnpm may pass a leading `--` or extra words). */
function flagValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(`--${name}`);
  return index === -1 ? undefined : argv[index + 1];
}

/**
 * Parses `pnpm run token`'s arguments; a UsageError says what is wrong: a missing or unusable
 * `--user` (answered with TOKEN_USAGE), a role other than user or admin, a ttl that is not a whole
 * positive number of seconds. Words it does not know are ignored.
 */
export function parseTokenArgs(argv: readonly string[]): TokenOptions {
  const user = flagValue(argv, 'user');
  const role = flagValue(argv, 'role') ?? 'user';
  const ttlS = Number(flagValue(argv, 'ttl') ?? 86_400);
  if (!user || !USER_ID.test(user)) throw new UsageError(TOKEN_USAGE);
  if (role !== 'user' && role !== 'admin') throw new UsageError('--role must be user or admin');
  if (!Number.isInteger(ttlS) || ttlS <= 0) throw new UsageError('--ttl must be a positive number of seconds');
  return Object.freeze({ user, role, ttlS });
}
