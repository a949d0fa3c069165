import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler, getLogger, internalAuth, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOrService } from '../../src/middleware/admin-or-service';

const TOKEN = 'admin-or-service-test-token-0123456789';

describe('adminOrService middleware', () => {
  let server: Server;
  let base: string;
  const call = (headers: Record<string, string>) => fetch(`${base}/api/v1/alerts`, { headers });

  beforeAll(async () => {
    setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
    const app = express();
    app.use(internalAuth({ token: TOKEN }));
    app.use('/api/v1/alerts', adminOrService());
    app.get('/api/v1/alerts', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler({ logger: getLogger('alerting.test') }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lets another service through (the internal token, no user)', async () => {
    const res = await call({ 'x-internal-token': TOKEN });
    expect(res.status).toBe(200);
  });

  it('lets an admin through', async () => {
    const res = await call({
      'x-internal-token': TOKEN,
      'x-flashcase-user-id': 'ops',
      'x-flashcase-user-role': 'admin',
    });
    expect(res.status).toBe(200);
  });

  it('refuses a signed-in user who is not an admin with 403 forbidden', async () => {
    const res = await call({
      'x-internal-token': TOKEN,
      'x-flashcase-user-id': 'amy',
      'x-flashcase-user-role': 'user',
    });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'forbidden', message: 'Admin role required' });
  });
});
