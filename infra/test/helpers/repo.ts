import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** The repository root (infra/test/helpers -> ../../..). */
export const REPO = resolve(__dirname, '../../..');

/** A path inside the repository. */
export function repoPath(...parts: string[]): string {
  return join(REPO, ...parts);
}

export function readText(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

/** Parses a YAML file of the repository; `<<` merge keys are resolved (compose anchors). */
export function readYaml<T = Record<string, unknown>>(...parts: string[]): T {
  return parse(readText(...parts), { merge: true }) as T;
}

export function readJson<T = Record<string, unknown>>(...parts: string[]): T {
  return JSON.parse(readText(...parts)) as T;
}

/** The three services of the contract, with their default ports (contract section 3). */
export const SERVICES = [
  { name: 'gateway', job: 'flashcase-gateway', port: 8000, metricsPort: 9464 },
  { name: 'ai-proxy', job: 'flashcase-ai-proxy', port: 8001, metricsPort: 9465 },
  { name: 'alerting', job: 'flashcase-alerting', port: 8002, metricsPort: 9466 },
] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];

/** True when `services/<name>/dist/main.js` exists (the service was built). */
export function isBuilt(name: ServiceName): boolean {
  return existsSync(repoPath('services', name, 'dist', 'main.js'));
}

/** `KEY=value` lines of an env file (comments and blank lines skipped; no quoting rules). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined) env[match[1]] = match[2] ?? '';
  }
  return env;
}
