import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/authenticate';
import { HmacVerifier } from '../../src/auth/jwt';
import { alertsRoutes } from '../../src/routes/alerts';
import { signDevToken } from '../helpers/dev-token';
import { type ForwardingFixture, serveForwarding } from '../helpers/loopback';

const SECRET = 'alerts-routes-test-secret-0123456789ab';

describe('alerts routes', () => {
  let server: ForwardingFixture;
  beforeAll(async () => {
    server = await serveForwarding('alerting', (alerting) => [
      authenticate(new HmacVerifier(SECRET)),
      alertsRoutes(alerting),
    ]);
  });
  afterAll(() => server.close());

  const call = (path: string, method: string, token: string) =>
    fetch(`${server.base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

  it('forward the alert list and everything below it to alerting, for admins', async () => {
    const admin = signDevToken(SECRET, 'ops', 'admin');
    expect(await (await call('/api/v1/alerts', 'GET', admin)).json()).toEqual({ service: 'alerting' });
    await (await call('/api/v1/alerts/HighErrorRate/silence', 'POST', admin)).arrayBuffer();
    expect(server.service.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v1/alerts',
      'POST /api/v1/alerts/HighErrorRate/silence',
    ]);
    expect(server.service.seen[0]?.headers['x-flashcase-user-role']).toBe('admin');
  });

  it('refuse other users with 403 and answer 404 to a write of the list itself', async () => {
    const seen = server.service.seen.length;
    const user = await call('/api/v1/alerts', 'GET', signDevToken(SECRET, 'student'));
    expect(user.status).toBe(403);
    expect(((await user.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await call('/api/v1/alerts', 'POST', signDevToken(SECRET, 'ops', 'admin'))).status).toBe(404);
    expect(server.service.seen).toHaveLength(seen);
  });
});
