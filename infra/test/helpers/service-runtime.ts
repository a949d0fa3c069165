import { ConfigError, loadConfig } from '@flashcase/config';
import { readText, type ServiceName } from './repo';

/** A service image's runtime stage, as its Dockerfile declares it. */
export interface DockerfileRuntime {
  env: Record<string, string>;
  expose: number[];
  user: string | undefined;
  cmd: string[];
}

/** The Dockerfile's `ENV` pairs, `EXPOSE` ports, `USER` and `CMD` (the runtime stage). */
export function dockerfile(service: ServiceName): DockerfileRuntime {
  const text = readText('services', service, 'Dockerfile');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  const envBlock = /\nENV ((?:[^\n]*\\\n)*[^\n]*)/.exec(runtime)?.[1] ?? '';
  for (const [, key, value] of envBlock.matchAll(/([A-Z_]+)=(\S+)/g)) env[key as string] = value as string;
  return {
    env,
    expose: (/\nEXPOSE ([\d ]+)/.exec(runtime)?.[1] ?? '').trim().split(/\s+/).map(Number),
    user: /\nUSER (\S+)/.exec(runtime)?.[1],
    cmd: JSON.parse(/\nCMD (\[.*\])/.exec(runtime)?.[1] ?? '[]') as string[],
  };
}

/**
 * Whether @flashcase/config parses `name`: it validates every variable it knows as a string and
 * ignores the rest, so a non-string value fails start-up exactly when the name is one it reads.
 */
export function configKnows(service: ServiceName, name: string): boolean {
  try {
    loadConfig(service, { [name]: 0 as unknown as string });
    return false;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.some((issue) => issue.variable === name);
  }
}

/** Variables read by something other than @flashcase/config: the OpenTelemetry SDK and node. */
export const outsideConfig = (name: string): boolean => name.startsWith('OTEL_') || name === 'NODE_OPTIONS';

/**
 * How long a service lets in-flight requests and streams finish after SIGTERM before it closes
 * their connections, in seconds: `SHUTDOWN_GRACE_MS` as @flashcase/config reads it from `env` (the
 * pod's environment), its default when unset, so the manifests' grace periods are checked against
 * what the service will really wait. Throws the ConfigError when `env` does not start the service.
 */
export function shutdownDrainSeconds(service: ServiceName, env: Record<string, string>): number {
  return loadConfig(service, env).shutdownGraceMs / 1000;
}

/**
 * The longest an OTLP export may take at shutdown, in seconds, for an environment: per signal its
 * `OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT`, else the spec's 10 s;
 * the largest of the three signals (they flush side by side).
 */
export function otlpExportTimeoutSeconds(env: Record<string, string>): number {
  const ms = (value: string | undefined) => (value && Number(value) > 0 ? Number(value) : undefined);
  const perSignal = ['TRACES', 'LOGS', 'METRICS'].map(
    (signal) => ms(env[`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`]) ?? ms(env.OTEL_EXPORTER_OTLP_TIMEOUT) ?? 10_000,
  );
  return Math.max(...perSignal) / 1000;
}
