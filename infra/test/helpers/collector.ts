import { parse } from 'yaml';
import { readText } from './repo';

export interface Pipeline {
  receivers: string[];
  processors?: string[];
  exporters: string[] | string;
}

export interface CollectorConfig {
  extensions: Record<string, { endpoint?: string } | null>;
  receivers: Record<string, { protocols?: Record<string, { endpoint: string }> }>;
  processors: Record<string, Record<string, unknown>>;
  connectors?: Record<string, Record<string, unknown>>;
  exporters: Record<string, Record<string, unknown>>;
  service: { extensions: string[]; pipelines: Record<string, Pipeline> };
}

/** A collector config of the repository, parsed. */
export function readCollectorConfig(file: string): CollectorConfig {
  return parse(readText(file)) as CollectorConfig;
}

/**
 * A whole-field `${env:NAME:-default}` as the collector resolves it: the variable's value, else the
 * default, parsed as YAML (confmap's env provider).
 */
export function resolve(value: unknown, env: Record<string, string> = {}): unknown {
  if (typeof value !== 'string') return value;
  const match = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\}$/.exec(value);
  if (!match) return value;
  return parse(env[match[1] as string] ?? match[2] ?? '');
}

/** The exporters of pipeline `name`, its `${env:...}` list resolved. */
export function exportersOf(config: CollectorConfig, name: string, env: Record<string, string> = {}): string[] {
  return resolve(config.service.pipelines[name]?.exporters, env) as string[];
}

/** Every component a pipeline or the service names that the config does not define. */
export function undefinedComponents(config: CollectorConfig): string[] {
  const connectors = Object.keys(config.connectors ?? {});
  const defined = {
    receivers: new Set([...Object.keys(config.receivers), ...connectors]),
    processors: new Set(Object.keys(config.processors)),
    exporters: new Set([...Object.keys(config.exporters), ...connectors]),
  };
  const missing: string[] = [];
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    for (const receiver of pipeline.receivers)
      if (!defined.receivers.has(receiver)) missing.push(`${name}: ${receiver}`);
    for (const processor of pipeline.processors ?? []) {
      if (!defined.processors.has(processor)) missing.push(`${name}: ${processor}`);
    }
    for (const exporter of exportersOf(config, name)) {
      if (!defined.exporters.has(exporter)) missing.push(`${name}: ${exporter}`);
    }
  }
  for (const extension of config.service.extensions) {
    if (!(extension in config.extensions)) missing.push(`extension ${extension}`);
  }
  return missing;
}
