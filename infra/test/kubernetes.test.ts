import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { loadConfig } from '@flashcase/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  admits,
  byKind,
  containerEnv,
  containerOf,
  type Deployment,
  deploymentOf,
  type KubeObject,
  named,
  type Overlay,
  type Peer,
  podEnvironment,
  render,
  selects,
  validateObject,
} from './helpers/kubernetes';
import { REPO, readJson, readText, readYaml, SERVICES, type ServiceName } from './helpers/repo';
import { configKnows, dockerfile, outsideConfig } from './helpers/service-runtime';

const OVERLAYS: Overlay[] = ['dev', 'production'];
const rendered: Record<Overlay, KubeObject[]> = { dev: render('dev'), production: render('production') };

/** The secrets the services read (contract section 4): never a literal in a manifest. */
const SECRET_VARIABLES = [
  'JWT_SECRET',
  'INTERNAL_TOKEN',
  'XAI_API_KEY',
  'SLACK_WEBHOOK_URL',
  'SMTP_URL',
  'ALERT_WEBHOOK_URL',
  'COURTLISTENER_API_KEY',
];
describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s', (overlay) => {
  const objects = rendered[overlay];
  const deployments = byKind<Deployment>(objects, 'Deployment');
  const containers = deployments.flatMap((deployment) =>
    deployment.spec.template.spec.containers.map((container) => ({ deployment, container })),
  );

  it('renders the three services, their Services, HPAs, PDBs, ServiceMonitors and the PrometheusRule', () => {
    for (const { name } of SERVICES) {
      for (const kind of [
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
        'ServiceMonitor',
      ]) {
        expect(named(objects, kind, name).metadata.namespace, `${kind} ${name}`).toBe('flashcase');
      }
    }
    expect(byKind(objects, 'PrometheusRule')).toHaveLength(1);
  });

  it('validates every object against the Kubernetes OpenAPI schemas and the prometheus-operator CRDs', () => {
    for (const object of objects) {
      expect(() => validateObject(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('gives every container probes, requests and limits, and a locked-down security context', () => {
    expect(containers.length).toBeGreaterThanOrEqual(5);
    for (const { deployment, container } of containers) {
      const where = `${deployment.metadata.name}/${container.name}`;
      const pod = deployment.spec.template.spec;
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        expect(container[probe], `${where} ${probe}`).toBeDefined();
      }
      for (const side of ['requests', 'limits'] as const) {
        expect(Object.keys(container.resources?.[side] ?? {}).sort(), `${where} ${side}`).toEqual(['cpu', 'memory']);
      }
      const security = { ...pod.securityContext, ...container.securityContext };
      expect(security, where).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(security.runAsUser, where).toBeGreaterThan(0);
    }
  });

  it("probes each service on GET /api/v1/health at its PORT, whose 200 covers 'degraded'", () => {
    for (const { name, port } of SERVICES) {
      const container = containerOf(objects, name);
      const http = container.ports?.find((p) => p.name === 'http');
      expect(http?.containerPort).toBe(port);
      for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
        expect(probe?.httpGet).toEqual({ path: '/api/v1/health', port: 'http' });
      }
    }
  });

  it('spreads every replicated Deployment over nodes and zones', () => {
    // dev's Redis and collector are one pod each.
    const replicated = deployments.filter((d) => d.metadata.labels?.['app.kubernetes.io/part-of'] !== 'flashcase-dev');
    expect(replicated.length).toBeGreaterThanOrEqual(3);
    for (const deployment of replicated) {
      const constraints = deployment.spec.template.spec.topologySpreadConstraints ?? [];
      expect(constraints.map((c) => c.topologyKey).sort(), deployment.metadata.name).toEqual(
        expect.arrayContaining(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']),
      );
      for (const constraint of constraints) {
        expect(selects(constraint.labelSelector, deployment.spec.template.metadata.labels)).toBe(true);
      }
    }
  });

  it('sets only variables @flashcase/config (or the OpenTelemetry SDK) reads', () => {
    for (const { name } of SERVICES) {
      const { values, secrets } = containerEnv(objects, containerOf(objects, name));
      const unknown = [...Object.keys(values), ...Object.keys(secrets)].filter(
        (variable) => !outsideConfig(variable) && !configKnows(name, variable),
      );
      expect(unknown, name).toEqual([]);
    }
    // The probe itself: a name config does not read is reported unknown.
    expect(configKnows('gateway', 'FLASHCASE_NO_SUCH_VARIABLE')).toBe(false);
    expect(configKnows('gateway', 'RATE_LIMIT_AI_PER_MINUTE')).toBe(true);
  });

  it('starts every service with the environment it sets, the Secret holding only its required keys', () => {
    for (const { name } of SERVICES) {
      const env = podEnvironment(objects, name, false);
      const config = loadConfig(name, env);
      expect(config.environment, name).toBe('production');
      expect(config.host, name).toBe('0.0.0.0');
      expect(config.internalToken, name).toBeDefined();
      expect(config.urls, name).toMatchObject({
        aiProxy: 'http://ai-proxy:8001',
        alerting: 'http://alerting:8002',
        gateway: 'http://gateway:8000',
      });
      // Replicas must share one store: never the embedded one.
      expect(config.redis.url, name).toBeDefined();
      expect(loadConfig(name, podEnvironment(objects, name, true)).environment).toBe('production');
    }
  });

  it('inlines no secret: no Secret object, every secret variable through secretKeyRef', () => {
    expect(byKind(objects, 'Secret')).toEqual([]);
    for (const configMap of byKind(objects, 'ConfigMap')) {
      for (const key of Object.keys(configMap.data ?? {}))
        expect(SECRET_VARIABLES, configMap.metadata.name).not.toContain(key);
    }
    for (const { container } of containers) {
      for (const variable of container.env ?? []) {
        if (SECRET_VARIABLES.includes(variable.name)) {
          expect(variable.valueFrom?.secretKeyRef?.name, variable.name).toBe('flashcase-secrets');
        }
      }
    }
    for (const { name } of SERVICES) {
      const { values, secrets } = containerEnv(objects, containerOf(objects, name));
      // A URL in plain configuration carries no password.
      for (const [variable, value] of Object.entries(values))
        expect(value, variable).not.toMatch(/\/\/[^/@\s]*:[^/@\s]*@/);
      const expected = {
        gateway: ['JWT_SECRET', 'INTERNAL_TOKEN'],
        'ai-proxy': ['INTERNAL_TOKEN', 'XAI_API_KEY'],
        alerting: ['INTERNAL_TOKEN', 'SLACK_WEBHOOK_URL', 'SMTP_URL'],
      }[name];
      expect(Object.keys(secrets), name).toEqual(expect.arrayContaining(expected));
    }
  });

  it('selects its own pods in every Service, PDB and ServiceMonitor, on ports the pods have', () => {
    for (const kind of ['Service', 'PodDisruptionBudget']) {
      for (const object of byKind(objects, kind)) {
        const spec = object.spec as { selector: Record<string, string> & { matchLabels?: Record<string, string> } };
        const selector = kind === 'Service' ? { matchLabels: spec.selector } : spec.selector;
        const matching = deployments.filter((d) => selects(selector, d.spec.template.metadata.labels));
        expect(
          matching.map((d) => d.metadata.name),
          `${kind} ${object.metadata.name}`,
        ).toHaveLength(1);
        if (kind === 'Service') {
          const portNames = matching[0]?.spec.template.spec.containers.flatMap((c) => c.ports?.map((p) => p.name));
          for (const port of (object.spec as { ports: Array<{ targetPort: string }> }).ports) {
            expect(portNames).toContain(port.targetPort);
          }
        }
      }
    }
    for (const { name, job } of SERVICES) {
      const monitor = named(objects, 'ServiceMonitor', name).spec as {
        selector: { matchLabels: Record<string, string> };
        endpoints: Array<{
          port: string;
          path: string;
          relabelings: Array<{ targetLabel: string; replacement: string }>;
        }>;
      };
      const service = named(objects, 'Service', name);
      expect(selects(monitor.selector, service.metadata.labels ?? {})).toBe(true);
      // The job the Prometheus rules and dashboards use (infra/prometheus/prometheus.yml).
      expect(monitor.endpoints).toEqual([
        expect.objectContaining({
          port: 'metrics',
          path: '/metrics',
          relabelings: [{ action: 'replace', targetLabel: 'job', replacement: job }],
        }),
      ]);
    }
  });

  it('runs the images and ports of the Dockerfiles, compose and the contract', () => {
    const compose = readYaml<{ services: Record<string, { image: string }> }>('docker-compose.yml');
    for (const { name, port, metricsPort } of SERVICES) {
      const container = containerOf(objects, name);
      const docker = dockerfile(name);
      const version = readJson<{ version: string }>('services', name, 'package.json').version;
      const [repository, tag] = container.image.split(':');
      expect(repository).toBe(compose.services[name]?.image.split(':')[0]);
      expect(tag).toBe(overlay === 'dev' ? 'local' : version);
      expect(container.command).toEqual(docker.cmd);
      expect(docker.user).toBe('node');
      expect(deploymentOf(objects, name).spec.template.spec.securityContext?.runAsUser).toBe(1000);
      expect(container.ports).toEqual([
        { name: 'http', containerPort: port },
        { name: 'metrics', containerPort: metricsPort },
      ]);
      expect(docker.expose).toEqual([port, metricsPort]);
      const { values } = containerEnv(objects, container);
      expect([values.PORT, values.METRICS_PORT]).toEqual([docker.env.PORT, docker.env.METRICS_PORT]);
      expect(named(objects, 'Service', name).spec?.ports).toEqual([
        { name: 'http', port, targetPort: 'http' },
        { name: 'metrics', port: metricsPort, targetPort: 'metrics' },
      ]);
      // HighMemoryUsage divides by this limit (536870912 bytes).
      expect(container.resources?.limits?.memory).toBe('512Mi');
      expect(readText('infra/prometheus/rules/flashcase-alerts.yml')).toContain('/ 536870912 > 0.8');
    }
    for (const deployment of deployments.filter((d) => d.metadata.name.startsWith('otel-collector'))) {
      expect(deployment.spec.template.spec.containers[0]?.image).toBe(compose.services['otel-collector']?.image);
    }
    if (overlay === 'dev') {
      expect(containerOf(objects, 'redis' as ServiceName).image).toBe(compose.services.redis?.image);
    }
  });

  it('sends telemetry to a Service otel-collector on OTLP/HTTP', () => {
    const { values } = containerEnv(objects, containerOf(objects, 'gateway'));
    expect(values.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    expect(values.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/json');
    const service = named(objects, 'Service', 'otel-collector').spec as { ports: Array<{ port: number }> };
    expect(service.ports.map((p) => p.port)).toContain(4318);
  });
});

describe('deploy/kubernetes NetworkPolicies', () => {
  const namespaceLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
  const pod = (name: string, namespace = 'flashcase'): Peer => ({
    name: namespace === 'flashcase' ? name : `${name}@${namespace}`,
    namespace,
    namespaceLabels: namespaceLabels(namespace),
    labels: { 'app.kubernetes.io/name': name },
  });
  const SOURCES: Peer[] = [
    { name: 'outside' },
    ...['gateway', 'ai-proxy', 'alerting', 'redis', 'otel-collector', 'otel-collector-sampler', 'other'].map((n) =>
      pod(n),
    ),
    pod('prometheus', 'monitoring'),
    pod('other', 'default'),
  ];
  const INSIDE = SOURCES.map((source) => source.name);
  const SERVICES_PODS = ['gateway', 'ai-proxy', 'alerting'];
  const common = {
    'gateway:8000': INSIDE,
    'gateway:9464': ['prometheus@monitoring'],
    'ai-proxy:8001': ['gateway', 'alerting'],
    'ai-proxy:9465': ['prometheus@monitoring'],
    'alerting:8002': ['gateway', 'alerting'],
    'alerting:9466': ['prometheus@monitoring'],
  };
  const EXPECTED: Record<Overlay, Record<string, string[]>> = {
    dev: {
      ...common,
      'redis:6379': SERVICES_PODS,
      'otel-collector:4317': SERVICES_PODS,
      'otel-collector:4318': SERVICES_PODS,
      'otel-collector:8888': ['prometheus@monitoring'],
      'otel-collector:8889': ['prometheus@monitoring'],
      'otel-collector:13133': [],
    },
    production: {
      ...common,
      'otel-collector:4317': SERVICES_PODS,
      'otel-collector:4318': SERVICES_PODS,
      'otel-collector:8888': ['prometheus@monitoring'],
      'otel-collector:13133': [],
      'otel-collector-sampler:4317': ['otel-collector'],
      'otel-collector-sampler:8888': ['prometheus@monitoring'],
      'otel-collector-sampler:8889': ['prometheus@monitoring'],
      'otel-collector-sampler:13133': [],
    },
  };

  it.each(OVERLAYS)(
    '%s: only the gateway takes outside traffic; ai-proxy and alerting take the gateway and alerting; /metrics only monitoring',
    (overlay) => {
      const objects = rendered[overlay];
      const matrix: Record<string, string[]> = {};
      for (const deployment of byKind<Deployment>(objects, 'Deployment')) {
        const labels = deployment.spec.template.metadata.labels;
        const destination: Peer = { name: deployment.metadata.name, namespace: 'flashcase', labels };
        for (const container of deployment.spec.template.spec.containers) {
          for (const { containerPort } of container.ports ?? []) {
            matrix[`${deployment.metadata.name}:${containerPort}`] = SOURCES.filter((source) =>
              admits(objects, source, destination, containerPort),
            ).map((source) => source.name);
          }
        }
      }
      expect(matrix).toEqual(EXPECTED[overlay]);
    },
  );
});

describe('deploy/kubernetes generated files', () => {
  it('are up to date with their sources (node infra/kubernetes/sync.mts --check)', () => {
    expect(() =>
      execFileSync(process.execPath, ['infra/kubernetes/sync.mts', '--check'], { cwd: REPO, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('hold in the PrometheusRule exactly the groups of infra/prometheus/rules', () => {
    const files = readdirSync(`${REPO}/infra/prometheus/rules`)
      .filter((file) => file.endsWith('.yml'))
      .sort();
    const groups = files.flatMap((file) => readYaml<{ groups: unknown[] }>('infra/prometheus/rules', file).groups);
    for (const overlay of OVERLAYS) {
      const [rule] = byKind(rendered[overlay], 'PrometheusRule');
      expect((rule?.spec as { groups?: unknown[] } | undefined)?.groups).toEqual(groups);
    }
  });

  it('mount the repository collector configs, unchanged, in each overlay', () => {
    const configOf = (overlay: Overlay, deployment: string) => {
      const pod = named<Deployment>(rendered[overlay], 'Deployment', deployment).spec.template.spec as unknown as {
        volumes: Array<{ name: string; configMap?: { name: string } }>;
      };
      const configMap = named(
        rendered[overlay],
        'ConfigMap',
        pod.volumes.find((v) => v.name === 'config')?.configMap?.name ?? '',
      );
      return parse(configMap.data?.['config.yaml'] ?? '');
    };
    expect(configOf('dev', 'otel-collector')).toEqual(parse(readText('otel-collector.yaml')));
    expect(configOf('production', 'otel-collector')).toEqual(parse(readText('otel-collector-loadbalancer.yaml')));
    expect(configOf('production', 'otel-collector-sampler')).toEqual(parse(readText('otel-collector-sampler.yaml')));
  });
});

describe('the production overlay', () => {
  const objects = rendered.production;

  it('requires the counters store from the Secret, and takes a Cluster seed list when it has one', () => {
    for (const { name } of SERVICES) {
      const { secrets } = containerEnv(objects, containerOf(objects, name));
      expect(secrets.REDIS_URL).toEqual({ secret: 'flashcase-secrets', key: 'REDIS_URL', optional: false });
      expect(secrets.REDIS_CLUSTER_NODES).toEqual({
        secret: 'flashcase-secrets',
        key: 'REDIS_CLUSTER_NODES',
        optional: true,
      });
      expect(loadConfig(name, podEnvironment(objects, name, true)).redis.clusterNodes).toHaveLength(2);
    }
  });

  it('routes spans by trace id to the sampling tier through its headless Service', () => {
    const lb = parse(readText('otel-collector-loadbalancer.yaml')) as {
      exporters: { loadbalancing: { routing_key: string; resolver: { dns: { hostname: string; port: number } } } };
    };
    const balancer = named<Deployment>(objects, 'Deployment', 'otel-collector').spec.template.spec.containers[0];
    const env = named(objects, 'ConfigMap', balancer?.envFrom?.[0]?.configMapRef?.name ?? '').data ?? {};
    const { routing_key, resolver } = lb.exporters.loadbalancing;
    expect(routing_key).toBe('traceID');
    const hostname = /^\$\{env:OTELCOL_SAMPLER_HOSTNAME:-(.+)\}$/.exec(resolver.dns.hostname)?.[1];
    const headlessName = env.OTELCOL_SAMPLER_HOSTNAME ?? hostname ?? '';
    const headless = named(objects, 'Service', headlessName).spec as {
      clusterIP: string;
      selector: Record<string, string>;
      ports: Array<{ port: number }>;
    };
    expect(headless.clusterIP).toBe('None');
    expect(headless.ports.map((p) => p.port)).toEqual([resolver.dns.port]);
    const sampler = named<Deployment>(objects, 'Deployment', 'otel-collector-sampler');
    expect(selects({ matchLabels: headless.selector }, sampler.spec.template.metadata.labels)).toBe(true);
    expect(sampler.spec.replicas).toBeGreaterThanOrEqual(2);
  });
});
