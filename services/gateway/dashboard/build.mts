// Bundles the dashboard page into dist/dashboard/ (run by the gateway's `build`, after tsc): one
// script and one stylesheet (uPlot's CSS included), no CDN, nothing inline, so the page runs under
// the strict policy in src/routes/dashboard.ts.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'dashboard');

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { dashboard: join(here, 'src', 'main.ts') },
  outdir: join(out, 'assets'),
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  // Browsers an operator's laptop runs today; esbuild lowers newer syntax.
  target: ['chrome115', 'firefox115', 'safari16'],
  // uPlot's header is not a /*! comment esbuild keeps, so its MIT notice goes in as a banner.
  banner: { js: '/*! uPlot | Copyright (c) 2025, Leon Sorokin | MIT License */', css: '/*! uPlot | MIT */' },
  legalComments: 'inline',
  logLevel: 'warning',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
