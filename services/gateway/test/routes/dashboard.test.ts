import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorHandler, getLogger, notFound } from '@flashcase/telemetry';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, dashboardRoutes } from '../../src/routes/dashboard';

async function serve(dir: string): Promise<{ base: string; server: Server }> {
  const app = express();
  app.use(dashboardRoutes({ dir }));
  app.use(notFound());
  app.use(errorHandler({ logger: getLogger('gateway.test') }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('dashboard routes', () => {
  let dir: string;
  let built: { base: string; server: Server };
  let missing: { base: string; server: Server };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flashcase-dashboard-'));
    await mkdir(join(dir, 'built', 'assets'), { recursive: true });
    await writeFile(join(dir, 'built', 'index.html'), '<!doctype html><title>d</title>');
    await writeFile(join(dir, 'built', 'assets', 'dashboard.js'), 'void 0;');
    await writeFile(join(dir, 'built', 'assets', 'dashboard.css'), 'body{}');
    await writeFile(join(dir, 'built', 'secret.txt'), 'not an asset');
    built = await serve(join(dir, 'built'));
    missing = await serve(join(dir, 'not-built'));
  });
  afterAll(async () => {
    built.server.close();
    missing.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page and its bundled assets under their own strict policy', async () => {
    for (const path of ['/dashboard', '/dashboard/']) {
      const page = await fetch(`${built.base}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    }
    const script = await fetch(`${built.base}/dashboard/assets/dashboard.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    expect(script.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    const style = await fetch(`${built.base}/dashboard/assets/dashboard.css`);
    expect(style.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('allows only its own scripts, styles and data calls: nothing inline, no framing, no form posts', () => {
    const directives = Object.fromEntries(
      DASHBOARD_CSP.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives).toMatchObject({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'form-action': "'none'",
      'frame-ancestors': "'none'",
    });
    expect(DASHBOARD_CSP).not.toContain('unsafe');
  });

  it('serves nothing but the listed assets (no path from the URL reaches the file system)', async () => {
    for (const path of [
      '/dashboard/assets/unknown.js',
      '/dashboard/assets/..%2Fsecret.txt',
      '/dashboard/assets/%2e%2e%2fsecret.txt',
      '/dashboard/secret.txt',
    ]) {
      const res = await fetch(`${built.base}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('answers the contract 404 naming the fix when the page was not built', async () => {
    const res = await fetch(`${missing.base}/dashboard`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('pnpm build');
  });
});
