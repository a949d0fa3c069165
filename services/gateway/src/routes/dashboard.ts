import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HttpError } from '@flashcase/telemetry';
import { type NextFunction, type Request, type Response, Router } from 'express';

/**
 * The dashboard's own Content-Security-Policy: its bundled script and stylesheet from this origin,
 * data calls to this origin only, nothing inline, no plugins, no framing, no form posts (the token
 * form is handled in script; `form-action 'none'` keeps a token out of a URL even if the script
 * failed to load). uPlot styles its elements through the CSSOM, which `style-src 'self'` allows.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Route templates of the dashboard (kept out of the API request stats, see stats/uncounted-routes.ts). */
export const DASHBOARD_ROUTES = ['/dashboard', '/dashboard/assets/:file'] as const;

export interface DashboardOptions {
  /** The built page: `index.html` and `assets/` (the gateway build writes `dist/dashboard/`). */
  dir: string;
}

/**
 * `GET /dashboard`: the live dashboard page, built into `dir` by the gateway's build (esbuild).
 * Only the files that exist at start-up are served (a fixed list: no path from the URL reaches the
 * file system). A gateway whose dashboard was not built answers the contract's 404.
 */
export function dashboardRoutes({ dir }: DashboardOptions): Router {
  const router = Router();
  const indexFile = join(dir, 'index.html');
  const assetsDir = join(dir, 'assets');
  const built = existsSync(indexFile);
  const assets = new Set(built && existsSync(assetsDir) ? readdirSync(assetsDir) : []);

  const withPolicy = (res: Response) => {
    res.setHeader('content-security-policy', DASHBOARD_CSP);
    // Small files; revalidating every load keeps a rebuilt page and an open tab in step.
    res.setHeader('cache-control', 'no-cache');
  };
  const notBuilt = () =>
    new HttpError(404, 'not_found', 'The dashboard is not built: run `pnpm build` (the gateway build bundles it)');

  // Non-strict routing: `/dashboard/` matches too; one template keeps the metric label single.
  router.get('/dashboard', function dashboardPage(_req: Request, res: Response, next: NextFunction) {
    if (!built) return next(notBuilt());
    withPolicy(res);
    res.sendFile(indexFile, { headers: { 'content-type': 'text/html; charset=utf-8' } }, (err) => err && next(err));
  });
  router.get('/dashboard/assets/:file', function dashboardAsset(req: Request, res: Response, next: NextFunction) {
    const file = req.params.file;
    if (typeof file !== 'string' || !assets.has(file)) return next();
    withPolicy(res);
    res.sendFile(file, { root: assetsDir, dotfiles: 'deny' }, (err) => err && next(err));
  });
  return router;
}
