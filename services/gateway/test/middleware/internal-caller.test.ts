import { type Request, type Response, Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/authenticate';
import { HmacVerifier } from '../../src/auth/jwt';
import { internalCallerOrAdmin, isInternalCaller, markInternalCaller } from '../../src/middleware/internal-caller';
import { signDevToken } from '../helpers/dev-token';
import { serve } from '../helpers/loopback';

const TOKEN = 'internal-token-internal-token-0123';
const SECRET = 'internal-caller-test-secret-0123456789';

function probe(req: Request, res: Response): void {
  res.json({ internal: isInternalCaller(res), user: req.user ?? null });
}

describe('internal caller', () => {
  const servers: Array<Awaited<ReturnType<typeof serve>>> = [];
  let marked: string;
  let unconfigured: string;
  let guarded: string;
  beforeAll(async () => {
    const withToken = await serve(markInternalCaller(TOKEN), probe);
    const withoutToken = await serve(markInternalCaller(undefined), probe);
    const routes = Router();
    routes.get('/stats', internalCallerOrAdmin(authenticate(new HmacVerifier(SECRET))), probe);
    const guard = await serve(markInternalCaller(TOKEN), routes);
    servers.push(withToken, withoutToken, guard);
    [marked, unconfigured, guarded] = [withToken.base, withoutToken.base, guard.base];
  });
  afterAll(() => Promise.all(servers.map((s) => s.close())));

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers });
    return { status: res.status, body: (await res.json()) as { internal?: boolean; error?: { code: string } } };
  };

  it('is a caller holding exactly the internal token, nobody else', async () => {
    expect((await get(marked, { 'x-internal-token': TOKEN })).body.internal).toBe(true);
    expect((await get(marked, { 'x-internal-token': `${TOKEN.slice(0, -1)}X` })).body.internal).toBe(false);
    expect((await get(marked, { 'x-internal-token': `${TOKEN}0` })).body.internal).toBe(false);
    expect((await get(marked)).body.internal).toBe(false);
  });

  it('is nobody when no internal token is configured', async () => {
    expect((await get(unconfigured, { 'x-internal-token': TOKEN })).body.internal).toBe(false);
    expect((await get(unconfigured, { 'x-internal-token': '' })).body.internal).toBe(false);
  });

  it('lets the internal caller in without a JWT, an admin with one, and refuses everyone else', async () => {
    expect((await get(`${guarded}/stats`, { 'x-internal-token': TOKEN })).status).toBe(200);
    const admin = await get(`${guarded}/stats`, { authorization: `Bearer ${signDevToken(SECRET, 'ops', 'admin')}` });
    expect(admin.status).toBe(200);
    const user = await get(`${guarded}/stats`, { authorization: `Bearer ${signDevToken(SECRET, 'student')}` });
    expect(user).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const none = await get(`${guarded}/stats`);
    expect(none).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    const guess = await get(`${guarded}/stats`, { 'x-internal-token': 'guess' });
    expect(guess.status).toBe(401);
  });
});
