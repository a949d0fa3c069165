import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoPath } from './repo';

/**
 * Jobs of infra/prometheus/prometheus.yml whose targets cannot run on this machine (no collector,
 * Tempo or Loki binary from the registries we can reach): the loopback config leaves them out.
 * Any other job must get loopback targets, so a job added to prometheus.yml fails the suite until
 * the suite runs (or explicitly skips) it.
 */
// cAdvisor needs a container runtime to watch: no Docker runs where the tests run.
export const JOBS_NOT_RUNNABLE_HERE = ['otel-collector-spanmetrics', 'otel-collector', 'tempo', 'loki', 'cadvisor'];

interface ScrapeConfig {
  job_name: string;
  static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
  dns_sd_configs?: unknown[];
  [key: string]: unknown;
}

interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  alerting?: unknown;
  scrape_configs: ScrapeConfig[];
}

export interface LoopbackOptions {
  /** Loopback `host:port` targets per job. */
  targets: Record<string, string[]>;
  /** Alertmanager `host:port`. */
  alertmanager: string;
  /** Where the derived config and rule copies are written. */
  dir: string;
  /** Jobs left out on purpose this run (a service that is not built yet). */
  skipped?: string[];
}

/**
 * The config Prometheus runs with in the suite, derived from infra/prometheus/prometheus.yml: the
 * same jobs and scrape settings with their service-discovery swapped for loopback static targets,
 * 1 s scrape and evaluation intervals, and copies of infra/prometheus/rules in which every alert's
 * `for` is 1s (so alerts fire within the run; the promtool unit tests check the real durations).
 */
export function deriveLoopbackConfig({ targets, alertmanager, dir, skipped = [] }: LoopbackOptions): string {
  const source = parse(readFileSync(repoPath('infra/prometheus/prometheus.yml'), 'utf8')) as PrometheusConfig;
  const jobs = source.scrape_configs.map((job) => job.job_name);
  for (const job of Object.keys(targets)) {
    if (!jobs.includes(job)) throw new Error(`prometheus.yml has no job ${job}`);
  }
  const scrapeConfigs: ScrapeConfig[] = [];
  for (const job of source.scrape_configs) {
    const loopback = targets[job.job_name];
    if (loopback === undefined) {
      if (!JOBS_NOT_RUNNABLE_HERE.includes(job.job_name) && !skipped.includes(job.job_name)) {
        throw new Error(`job ${job.job_name} of prometheus.yml has no loopback target in the suite`);
      }
      continue;
    }
    const { dns_sd_configs: _dns, static_configs: _static, ...settings } = job;
    scrapeConfigs.push({ ...settings, static_configs: [{ targets: loopback }] });
  }

  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir, { recursive: true });
  for (const file of readdirSync(repoPath('infra/prometheus/rules'))) {
    if (!file.endsWith('.yml')) continue;
    const rules = parse(readFileSync(repoPath('infra/prometheus/rules', file), 'utf8')) as {
      groups: Array<{ rules: Array<Record<string, unknown>> }>;
    };
    for (const group of rules.groups) {
      for (const rule of group.rules) {
        if (rule.alert !== undefined) rule.for = '1s';
      }
    }
    writeFileSync(join(rulesDir, file), stringify(rules));
  }

  const config = {
    global: { ...source.global, scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: [join(rulesDir, '*.yml')],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] },
    scrape_configs: scrapeConfigs,
  };
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, stringify(config));
  return file;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** Thrown for a query Prometheus refuses (parse or execution error). */
export class QueryError extends Error {}

/** An instant query through Prometheus's HTTP API. */
export async function instantQuery(base: string, query: string): Promise<Sample[]> {
  const response = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query }).toString(),
  });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success' || body.data === undefined) {
    throw new QueryError(`${query}\n  -> ${body.error ?? `HTTP ${response.status}`}`);
  }
  if (body.data.resultType === 'scalar') {
    const [, value] = body.data.result as unknown as [number, string];
    return [{ metric: {}, value: Number(value) }];
  }
  return body.data.result.map((entry) => ({ metric: entry.metric, value: Number(entry.value[1]) }));
}

/** `label_values(metric, label)` as Grafana runs it: the label's values on the metric's series. */
export async function labelValues(base: string, metric: string, label: string): Promise<string[]> {
  const url = `${base}/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': metric })}`;
  const body = (await (await fetch(url)).json()) as { status: string; data?: string[]; error?: string };
  if (body.status !== 'success' || body.data === undefined) throw new QueryError(`${url}: ${body.error}`);
  return body.data;
}
