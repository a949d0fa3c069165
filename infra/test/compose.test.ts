// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} here is compose, collector and Grafana placeholder text, never a JS template
import { loadConfig, SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { describe, expect, it } from 'vitest';
import { parseEnvFile, readText, readYaml, SERVICES } from './helpers/repo';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  env_file?: Array<{ path: string; required?: boolean }>;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number; resources?: { limits?: { memory?: string } } };
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const compose = readYaml<Compose>('docker-compose.yml');
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

/** `ENV`, `USER`, `FROM`, `CMD` and `RUN` lines of a Dockerfile (continuations joined). */
function dockerfile(name: string) {
  const lines = readText('services', name, 'Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n');
  const env: Record<string, string> = {};
  for (const line of lines.filter((candidate) => candidate.startsWith('ENV '))) {
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z_]+)=(\S+)/g)) env[key as string] = value as string;
  }
  return {
    from: lines.filter((line) => line.startsWith('FROM ')),
    user: lines
      .filter((line) => line.startsWith('USER '))
      .at(-1)
      ?.slice(5)
      .trim(),
    run: lines.filter((line) => line.startsWith('RUN ')).join('\n'),
    cmd: lines.find((line) => line.startsWith('CMD ')),
    args: Object.fromEntries(
      lines.filter((line) => line.startsWith('ARG ')).map((line) => line.slice(4).split('=') as [string, string]),
    ),
    env,
  };
}

describe('docker-compose.yml', () => {
  it('runs the whole stack: Redis, the collector, Prometheus, Alertmanager, Tempo, Loki, Grafana and the three services', () => {
    for (const name of [
      'redis',
      'otel-collector',
      'prometheus',
      'alertmanager',
      'tempo',
      'loki',
      'grafana',
      'gateway',
      'ai-proxy',
      'alerting',
    ]) {
      expect(compose.services, name).toHaveProperty([name]);
    }
  });

  it('keeps Redis data in an append-only file on a volume', () => {
    const redis = service('redis');
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it.each(SERVICES.map((svc) => [svc.name]))('builds %s from its Dockerfile with the repository as context', (name) => {
    expect(service(name).build).toEqual({ context: '.', dockerfile: `services/${name}/Dockerfile` });
  });

  it('runs two replicas of ai-proxy and of alerting behind one gateway', () => {
    expect(service('ai-proxy').deploy?.replicas).toBe(2);
    expect(service('alerting').deploy?.replicas).toBe(2);
    expect(service('gateway').deploy?.replicas ?? 1).toBe(1);
    expect(service('ai-proxy').ports).toBeUndefined();
    expect(service('alerting').ports).toBeUndefined();
    expect(service('gateway').ports).toEqual(['${GATEWAY_BIND:-0.0.0.0}:${GATEWAY_HOST_PORT:-8000}:8000']);
  });

  it.each(SERVICES.map((svc) => [svc.name]))("checks %s's health as the seed does (curl -f, 30s/10s/3/40s)", (name) => {
    const { healthcheck } = service(name);
    expect(healthcheck?.test[0]).toBe('CMD-SHELL');
    expect(healthcheck?.test[1]).toMatch(/^curl -f http:\/\/127\.0\.0\.1:\$\$\{PORT\}\/api\/v1\/health\b/);
    expect(healthcheck).toMatchObject({ interval: '30s', timeout: '10s', retries: 3, start_period: '40s' });
  });

  it('starts each service after what it needs is healthy', () => {
    expect(service('gateway').depends_on).toMatchObject({
      redis: { condition: 'service_healthy' },
      'ai-proxy': { condition: 'service_healthy' },
    });
    expect(service('ai-proxy').depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    expect(service('alerting').depends_on).toMatchObject({
      redis: { condition: 'service_healthy' },
      'ai-proxy': { condition: 'service_healthy' },
      gateway: { condition: 'service_healthy' },
    });
    // Every dependency exists, and a service_healthy one has a healthcheck to become healthy by.
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(svc.depends_on ?? {})) {
        const target = service(dependency);
        expect(['service_healthy', 'service_started', 'service_completed_successfully'], name).toContain(condition);
        if (condition === 'service_healthy') expect(target.healthcheck, `${name} -> ${dependency}`).toBeDefined();
      }
    }
  });

  it('limits the memory of every long-running container', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (name === 'tempo-init') continue;
      expect(svc.deploy?.resources?.limits?.memory, name).toMatch(/^\d+[MG]$/);
    }
  });

  it('gives the services their environment from .env.example (then .env), secrets required', () => {
    for (const { name } of SERVICES) {
      const svc = service(name);
      expect(svc.env_file).toEqual([
        { path: '.env.example', required: true },
        { path: '.env', required: false },
      ]);
      expect(svc.environment?.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/);
      expect(svc.environment?.INTERNAL_TOKEN).toMatch(/^\$\{INTERNAL_TOKEN:\?/);
    }
  });

  it('keeps 30 days of Prometheus data, and mounts every config it provisions', () => {
    expect(service('prometheus').command).toContain('--storage.tsdb.retention.time=30d');
    expect(service('prometheus').volumes).toContain('./infra/prometheus:/etc/prometheus:ro');
    expect(service('otel-collector').volumes).toContain('./otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro');
    expect(service('tempo').volumes).toContain('./infra/tempo/tempo.yml:/etc/tempo/tempo.yml:ro');
    expect(service('loki').volumes).toContain('./infra/loki/loki.yml:/etc/loki/loki.yml:ro');
    expect(service('alertmanager').volumes).toContain('./infra/alertmanager:/etc/alertmanager:ro');
    expect(service('alertmanager').entrypoint).toEqual(['/bin/sh', '/etc/alertmanager/render-config.sh']);
    expect(service('alertmanager').command).toContain('--config.file=/alertmanager/alertmanager.yml');
    expect(service('grafana').volumes).toEqual(
      expect.arrayContaining([
        './infra/grafana/provisioning:/etc/grafana/provisioning:ro',
        './infra/grafana/dashboards:/etc/grafana/dashboards:ro',
      ]),
    );
    const provider = readYaml<{ providers: Array<{ options: { path: string } }> }>(
      'infra/grafana/provisioning/dashboards/dashboards.yml',
    );
    expect(provider.providers[0]?.options.path).toBe('/etc/grafana/dashboards');
  });

  it('pins every image to a version', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) continue;
      expect(svc.image, name).toMatch(/:[v\d][\w.-]*$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
    }
  });
});

describe('.env.example', () => {
  const env = parseEnvFile(readText('.env.example'));
  const withSecrets = { ...env, JWT_SECRET: 'j'.repeat(48), INTERNAL_TOKEN: 'i'.repeat(48) };

  it.each(SERVICES.map((svc) => [svc.name]))(
    'is a valid production configuration of %s once the secrets are set',
    (name) => {
      const config = loadConfig(name, withSecrets);
      expect(config.environment).toBe('production');
      expect(config.host).toBe('0.0.0.0');
    },
  );

  it('names every endpoint between containers by compose service and container port', () => {
    const url = (variable: string) => new URL(env[variable] ?? '');
    for (const [variable, name] of [
      ['AI_PROXY_URL', 'ai-proxy'],
      ['ALERTING_URL', 'alerting'],
      ['GATEWAY_URL', 'gateway'],
    ] as const) {
      expect(url(variable).hostname, variable).toBe(name);
      expect(url(variable).port, variable).toBe(dockerfile(name).env.PORT);
    }
    expect(url('REDIS_URL').hostname).toBe('redis');
    expect(url('OTEL_EXPORTER_OTLP_ENDPOINT').hostname).toBe('otel-collector');
    expect(url('OTEL_EXPORTER_OTLP_ENDPOINT').port).toBe('4318');
    // The collector's OTLP/HTTP port; the protocol is set, not left to the default.
    expect(env.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/json');
    for (const name of ['gateway', 'ai-proxy', 'alerting']) {
      expect(dockerfile(name).env.OTEL_EXPORTER_OTLP_PROTOCOL, name).toBe('http/json');
    }
  });

  it('keeps the daily usage digest on (an empty USAGE_DIGEST_HOUR would turn it off)', () => {
    expect(loadConfig('alerting', withSecrets).alerts.usageDigestHour).toBe(8);
  });

  it('leaves the collector switches commented out (an empty value would replace their defaults)', () => {
    expect(Object.keys(env).filter((key) => key.startsWith('OTELCOL_'))).toEqual([]);
  });
});

describe('service Dockerfiles', () => {
  it.each(SERVICES.map((svc) => [svc.name, svc.port, svc.metricsPort]))(
    '%s: multi-stage, pnpm deploy of the service, Node 24, non-root, listening on 0.0.0.0',
    (name, port, metricsPort) => {
      const file = dockerfile(name);
      expect(file.from.length).toBeGreaterThanOrEqual(2);
      expect(file.args.NODE_IMAGE).toMatch(/^node:24[.-]/);
      expect(file.from.at(-1)).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
      expect(file.run).toContain('pnpm install --frozen-lockfile');
      expect(file.run).toContain(`pnpm exec turbo run build --filter=@flashcase/${name}`);
      expect(file.run).toContain(`pnpm --filter=@flashcase/${name} deploy --prod /out`);
      expect(file.run).toContain('curl');
      expect(file.user).toBe('node');
      expect(file.env).toMatchObject({
        HOST: '0.0.0.0',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        ENVIRONMENT: 'production',
        NODE_OPTIONS: SERVICE_NODE_OPTIONS,
      });
      expect(file.cmd).toBe('CMD ["node", "dist/main.js"]');
    },
  );

  it.each(SERVICES.map((svc) => [svc.name]))('%s: `pnpm start` runs node as the image does', (name) => {
    const start = (JSON.parse(readText('services', name, 'package.json')) as { scripts: { start: string } }).scripts
      .start;
    // the deployment's own NODE_OPTIONS wins, even empty (V8's sizing); unset, the services' own
    expect(start).toBe(`NODE_OPTIONS="\${NODE_OPTIONS-${SERVICE_NODE_OPTIONS}}" node dist/main.js`);
  });

  it('leaves build output, modules, secrets and git out of the build context', () => {
    const ignored = readText('.dockerignore').split('\n');
    for (const pattern of ['**/node_modules', '**/dist', '.git', '.env', '!.env.example']) {
      expect(ignored, pattern).toContain(pattern);
    }
  });
});

describe('infra/prometheus/prometheus.yml against docker-compose.yml', () => {
  const prometheus = readYaml<{
    scrape_configs: Array<{
      job_name: string;
      dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
      static_configs?: Array<{ targets: string[] }>;
    }>;
    alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
  }>('infra/prometheus/prometheus.yml');

  it.each(SERVICES.map((svc) => [svc.name, svc.job]))(
    'scrapes every replica of %s on its METRICS_PORT (one DNS A record per replica)',
    (name, job) => {
      const config = prometheus.scrape_configs.find((candidate) => candidate.job_name === job);
      expect(config?.dns_sd_configs).toEqual([
        expect.objectContaining({ names: [name], type: 'A', port: Number(dockerfile(name).env.METRICS_PORT) }),
      ]);
    },
  );

  it('points every static target and Alertmanager at a compose service', () => {
    const targets = [
      ...prometheus.scrape_configs.flatMap((job) => (job.static_configs ?? []).flatMap((config) => config.targets)),
      ...prometheus.alerting.alertmanagers.flatMap((am) => am.static_configs.flatMap((config) => config.targets)),
    ];
    for (const target of targets) {
      const [host] = target.split(':');
      if (host === 'localhost') continue; // Prometheus itself
      expect(compose.services, target).toHaveProperty([host as string]);
    }
    expect(targets).toEqual(
      expect.arrayContaining(['otel-collector:8889', 'otel-collector:8888', 'alertmanager:9093']),
    );
  });
});

describe('Loki and Tempo retention', () => {
  it('Loki keeps logs 30 days through its compactor', () => {
    const loki = readYaml<{
      limits_config: { retention_period: string; allow_structured_metadata: boolean };
      compactor: { retention_enabled: boolean; delete_request_store: string };
      server: { http_listen_port: number };
    }>('infra/loki/loki.yml');
    expect(loki.limits_config.retention_period).toBe('720h');
    expect(loki.compactor.retention_enabled).toBe(true);
    expect(loki.compactor.delete_request_store).toBe('filesystem');
    expect(loki.limits_config.allow_structured_metadata).toBe(true);
    expect(loki.server.http_listen_port).toBe(3100);
  });

  it('Tempo keeps traces 14 days and takes OTLP on 4317', () => {
    const tempo = readYaml<{
      compactor: { compaction: { block_retention: string } };
      distributor: { receivers: { otlp: { protocols: { grpc: { endpoint: string } } } } };
      server: { http_listen_port: number };
    }>('infra/tempo/tempo.yml');
    expect(tempo.compactor.compaction.block_retention).toBe('336h');
    expect(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(tempo.server.http_listen_port).toBe(3200);
  });
});
