import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@flashcase/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { startProcess, waitForHttp } from './helpers/processes';
import { isBuilt, REPO, SERVICES } from './helpers/repo';

const dir = mkdtempSync(join(tmpdir(), 'flashcase-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * What each Dockerfile's build stage does after compiling, run here without Docker: `pnpm deploy
 * --prod` of the service into a folder of its own, the same clean-up, then the runtime stage's
 * command (`node dist/main.js`) in that folder with a production environment. Proves the image's
 * /app holds everything the service needs at run time (no devDependency or workspace source).
 */
describe('service images without Docker (the Dockerfiles build steps)', () => {
  it.each(SERVICES.filter((svc) => isBuilt(svc.name)).map((svc) => [svc.name]))(
    '%s runs from its `pnpm deploy --prod` output alone',
    async (name) => {
      const out = join(dir, name);
      execFileSync('pnpm', [`--filter=@flashcase/${name}`, 'deploy', '--prod', out], {
        cwd: REPO,
        stdio: 'pipe',
        env: { ...process.env, CI: 'true' },
      });
      rmSync(join(out, 'src'), { recursive: true, force: true });
      rmSync(join(out, 'test'), { recursive: true, force: true });
      expect(existsSync(join(out, 'dist/main.js'))).toBe(true);
      const [port, metricsPort] = [await freePort(), await freePort()];
      const child = startProcess(`${name} (deployed)`, process.execPath, [join(out, 'dist/main.js')], {
        ENVIRONMENT: 'production',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        JWT_SECRET: 'deploy-test-jwt-secret-0123456789abcdef-0123',
        INTERNAL_TOKEN: 'deploy-test-internal-token-0123456789abcdef',
      });
      try {
        await waitForHttp(child, `http://127.0.0.1:${port}/api/v1/health`);
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).toContain('process_memory_usage');
      } finally {
        await child.stop();
      }
    },
    60_000,
  );
});
