import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadConfig } from '@flashcase/config';
import { startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys, freePort, readUntil, type ServiceProcess, startService } from '@flashcase/testkit';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  adapterQuery,
  byKind,
  containerOf,
  deploymentOf,
  type Hpa,
  type HpaRules,
  type KubeObject,
  named,
  type Overlay,
  podEnvironment,
  quantity,
  render,
  SECRET_VALUES,
} from './helpers/kubernetes';
import { startProcess, waitForHttp } from './helpers/processes';
import { instantQuery } from './helpers/prometheus';
import { metricNames } from './helpers/promql';
import { readYaml, SERVICES } from './helpers/repo';
import { otlpExportTimeoutSeconds, shutdownDrainSeconds } from './helpers/service-runtime';
import { REDIS_URL, requireBinary } from './helpers/stack';

const OVERLAYS: Overlay[] = ['dev', 'production'];
const rendered: Record<Overlay, KubeObject[]> = { dev: render('dev'), production: render('production') };
/** The gauge of open streams each ai-proxy replica exports (flashcase.ai.streams.active). */
const STREAMS_METRIC = 'flashcase_ai_streams_active';

interface AdapterRule {
  seriesQuery: string;
  resources: { overrides: Record<string, { resource: string }> };
  name: { matches: string; as: string };
  metricsQuery: string;
}

const ADAPTER_VALUES = readYaml<{ rules: { custom: AdapterRule[] } }>(
  'deploy/kubernetes/overlays/production/prometheus-adapter-values.yaml',
);

/** The one rule of the adapter values that serves `metric` to the custom metrics API. */
function adapterRuleFor(metric: string): AdapterRule {
  const rules = ADAPTER_VALUES.rules.custom.filter((rule) => rule.name.as === metric);
  expect(rules, `prometheus-adapter rules serving ${metric}`).toHaveLength(1);
  return rules[0] as AdapterRule;
}

/** Pods a scaling rule may add (or remove) per second at `replicas`, as the HPA applies `selectPolicy`. */
function podsPerSecond(rules: HpaRules, replicas: number): number {
  const rates = (rules.policies ?? []).map(
    (policy) =>
      (policy.type === 'Pods' ? policy.value : Math.ceil((replicas * policy.value) / 100)) / policy.periodSeconds,
  );
  return rules.selectPolicy === 'Min' ? Math.min(...rates) : Math.max(...rates);
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/%s: scaling and shutdown', (overlay) => {
  const objects = rendered[overlay];
  const hpas = byKind<Hpa>(objects, 'HorizontalPodAutoscaler');

  it('points each HPA at a Deployment of the render, on CPU first, scaling down one pod at a time', () => {
    expect(hpas.length).toBeGreaterThanOrEqual(3);
    for (const hpa of hpas) {
      const { spec } = hpa;
      expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: hpa.metadata.name });
      named(objects, 'Deployment', spec.scaleTargetRef.name);
      expect(spec.minReplicas).toBeLessThanOrEqual(spec.maxReplicas);
      if (overlay === 'production') expect(spec.minReplicas, hpa.metadata.name).toBeGreaterThanOrEqual(2);
      expect(spec.metrics[0]).toMatchObject({ type: 'Resource', resource: { name: 'cpu' } });
      expect(spec.behavior?.scaleDown?.policies).toEqual([expect.objectContaining({ type: 'Pods', value: 1 })]);
    }
  });

  it('reads only metrics the overlay can serve: CPU everywhere, a Pods metric only where an adapter rule serves it', () => {
    for (const hpa of hpas) {
      for (const metric of hpa.spec.metrics) {
        if (metric.type === 'Resource') continue;
        // dev runs no prometheus-adapter: an HPA with a metric it cannot read never scales down.
        expect(overlay, `${hpa.metadata.name}: ${metric.type} metric`).toBe('production');
        expect(metric.type).toBe('Pods');
        adapterRuleFor(metric.pods?.metric.name ?? '');
      }
    }
    const streams = named<Hpa>(objects, 'HorizontalPodAutoscaler', 'ai-proxy').spec.metrics.filter(
      (metric) => metric.pods?.metric.name === STREAMS_METRIC,
    );
    expect(streams).toHaveLength(overlay === 'production' ? 1 : 0);
  });

  it('scales up at once and down slowly: streams are long-lived, and a removed pod drains before the next goes', () => {
    for (const { name: where } of SERVICES) {
      const hpa = named<Hpa>(objects, 'HorizontalPodAutoscaler', where);
      const { scaleUp = {}, scaleDown = {} } = hpa.spec.behavior ?? {};
      const grace = deploymentOf(objects, where).spec.template.spec.terminationGracePeriodSeconds ?? 30;
      expect(scaleDown.stabilizationWindowSeconds ?? 300, where).toBeGreaterThanOrEqual(60);
      expect(scaleDown.stabilizationWindowSeconds ?? 300, where).toBeGreaterThan(
        scaleUp.stabilizationWindowSeconds ?? 0,
      );
      const replicas = hpa.spec.minReplicas;
      expect(podsPerSecond(scaleUp, replicas), where).toBeGreaterThan(podsPerSecond(scaleDown, replicas));
      // One pod per period, and the period outlasts a pod's whole shutdown: never two draining at once.
      for (const policy of scaleDown.policies ?? []) expect(policy.periodSeconds, where).toBeGreaterThanOrEqual(grace);
    }
  });

  it('lets endpoints drain before SIGTERM, then streams and the final flush finish before SIGKILL', () => {
    for (const { name } of SERVICES) {
      const pod = deploymentOf(objects, name).spec.template.spec;
      const preStopS = pod.containers[0]?.lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(preStopS, name).toBeGreaterThanOrEqual(3);
      // The grace period runs from the start of preStop; after the drain come the store's last
      // writes and the OTLP flush, which may wait out its export timeout for a collector that is away.
      const env = podEnvironment(objects, name, false);
      // The drain: SHUTDOWN_GRACE_MS as the pod sets it (or its default).
      const drainS = shutdownDrainSeconds(name, env);
      const flushS = otlpExportTimeoutSeconds(env);
      expect(pod.terminationGracePeriodSeconds ?? 30, name).toBeGreaterThanOrEqual(preStopS + drainS + flushS);
    }
  });

  it('keeps serving through voluntary disruptions: PDB and rollout take out one pod at most, never the last', () => {
    for (const { name } of SERVICES) {
      const pdb = named(objects, 'PodDisruptionBudget', name).spec as { maxUnavailable?: number | string };
      expect(pdb.maxUnavailable, name).toBe(1);
      const strategy = (
        deploymentOf(objects, name).spec as { strategy?: { rollingUpdate?: { maxUnavailable?: unknown } } }
      ).strategy;
      expect(strategy?.rollingUpdate?.maxUnavailable, name).toBe(0);
      if (overlay === 'production') {
        expect(named<Hpa>(objects, 'HorizontalPodAutoscaler', name).spec.minReplicas).toBeGreaterThan(1);
      }
    }
  });
});

describe('the production ai-proxy HPA on open streams', () => {
  const objects = rendered.production;
  const hpa = named<Hpa>(objects, 'HorizontalPodAutoscaler', 'ai-proxy');
  const streams = hpa.spec.metrics.find((metric) => metric.pods?.metric.name === STREAMS_METRIC);

  it('targets an average of open streams per pod, below AI_MAX_CONCURRENT_STREAMS when that is set', () => {
    expect(streams?.pods?.target.type).toBe('AverageValue');
    const target = quantity(streams?.pods?.target.averageValue ?? '');
    expect(target).toBeGreaterThan(0);
    const { maxConcurrentStreams } = loadConfig('ai-proxy', podEnvironment(objects, 'ai-proxy', false)).ai;
    // Above the per-replica cap the HPA would wait while replicas answer 503.
    if (maxConcurrentStreams > 0) expect(target).toBeLessThan(maxConcurrentStreams);
    expect(hpa.spec.metrics.map((metric) => metric.type).sort()).toEqual(['Pods', 'Resource']);
  });

  it('is served by a prometheus-adapter rule that reads the gauge per pod of the ServiceMonitor', () => {
    const rule = adapterRuleFor(STREAMS_METRIC);
    expect(metricNames(rule.seriesQuery)).toEqual([STREAMS_METRIC]);
    expect(new RegExp(rule.name.matches).test(STREAMS_METRIC)).toBe(true);
    // The labels the prometheus-operator puts on every series a ServiceMonitor scrapes.
    expect(rule.resources.overrides).toEqual({ namespace: { resource: 'namespace' }, pod: { resource: 'pod' } });
    const query = adapterQuery(rule.metricsQuery, STREAMS_METRIC, 'flashcase', ['ai-proxy-0']);
    expect(metricNames(query)).toContain(STREAMS_METRIC);
    expect(query).not.toMatch(/<<|>>/);
  });
});

describe('a pod started as the production Deployment starts it', () => {
  it('stays ready while Redis is unreachable: GET /api/v1/health answers 200 degraded', async () => {
    const objects = rendered.production;
    const env = podEnvironment(objects, 'ai-proxy', false);
    const container = containerOf(objects, 'ai-proxy');
    const dead = await freePort();
    // Loopback instead of 0.0.0.0, and a Redis nobody listens on: the outage the probe must survive.
    const proxy = await startService('ai-proxy', {
      ...env,
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      REDIS_URL: `redis://127.0.0.1:${dead}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    });
    try {
      const path = container.readinessProbe?.httpGet?.path ?? '';
      const res = await fetch(`${proxy.base}${path}`);
      const body = (await res.json()) as { status: string; database: string };
      expect(body).toMatchObject({ status: 'degraded', database: 'disconnected' });
      // The kubelet's httpGet probe succeeds on any status from 200 to 399.
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(400);
    } finally {
      await proxy.stop();
    }
  });

  it("exports the open streams the adapter rule turns into each pod's value, 0 on a pod without any", async () => {
    requireBinary('prometheus', 'prometheus');
    const objects = rendered.production;
    const rule = adapterRuleFor(STREAMS_METRIC);
    const monitor = named(objects, 'ServiceMonitor', 'ai-proxy').spec as {
      endpoints: Array<{ path: string; relabelings: Array<{ targetLabel: string; replacement: string }> }>;
    };
    const endpoint = monitor.endpoints[0];
    const job = endpoint?.relabelings.find((r) => r.targetLabel === 'job')?.replacement ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'flashcase-k8s-scaling-'));
    const keyPrefix = `flashcase-k8s-scaling:${process.pid}:${randomBytes(4).toString('hex')}:`;
    // The first content chunk, then silence: the stream stays open until the client leaves.
    const fake = await startFakeOpenAI({
      apiKey: SECRET_VALUES.XAI_API_KEY,
      record: false,
      behavior: { kind: 'stall-stream', afterChunks: 1 },
    });
    const env: Record<string, string> = {
      ...podEnvironment(objects, 'ai-proxy', false),
      HOST: '127.0.0.1',
      REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      XAI_API_KEY: SECRET_VALUES.XAI_API_KEY ?? '',
      XAI_BASE_URL: fake.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    };
    const pods = ['ai-proxy-0', 'ai-proxy-1'];
    const proxies: Array<{ pod: string; metricsPort: number; process?: ServiceProcess }> = [];
    const client = new AbortController();
    let prometheus: ReturnType<typeof startProcess> | undefined;
    try {
      for (const pod of pods) {
        const metricsPort = await freePort();
        const entry: (typeof proxies)[number] = { pod, metricsPort };
        proxies.push(entry);
        entry.process = await startService('ai-proxy', { ...env, METRICS_PORT: String(metricsPort) });
      }
      // What the prometheus-operator makes of the ServiceMonitor: the pod's namespace and name on
      // every series, and the job the relabeling sets.
      const config = {
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        scrape_configs: [
          {
            job_name: job,
            metrics_path: endpoint?.path,
            static_configs: proxies.map(({ pod, metricsPort }) => ({
              targets: [`127.0.0.1:${metricsPort}`],
              labels: { namespace: 'flashcase', pod },
            })),
          },
        ],
      };
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const prometheusPort = await freePort();
      const base = `http://127.0.0.1:${prometheusPort}`;
      prometheus = startProcess(
        'prometheus',
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${prometheusPort}`,
          '--log.level=warn',
        ],
        {},
      );
      await waitForHttp(prometheus, `${base}/-/ready`);

      const stream = await fetch(`${proxies[0]?.process?.base}/api/v1/ai/chat`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-internal-token': env.INTERNAL_TOKEN ?? '',
          'x-flashcase-user-id': 'streamer',
          'x-flashcase-user-role': 'user',
        },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hold this open' }], stream: true }),
        signal: client.signal,
      });
      expect(stream.status).toBe(200);
      // The first bytes: the stream is admitted and counted.
      expect((await stream.body?.getReader().read())?.done).toBe(false);

      const perPod = async () => {
        const samples = await instantQuery(base, adapterQuery(rule.metricsQuery, STREAMS_METRIC, 'flashcase', pods));
        return Object.fromEntries(samples.map((sample) => [sample.metric.pod, sample.value]));
      };
      const settle = { timeoutMs: 30_000, intervalMs: 250 };
      const open = { 'ai-proxy-0': 1, 'ai-proxy-1': 0 };
      expect(await readUntil(perPod, (value) => isDeepStrictEqual(value, open), settle)).toEqual(open);
      // The series the adapter discovers carry the labels it maps to the pod and its namespace; a
      // replica that never had a stream exports its 0 too (the gauge exists from start-up).
      const series = await fetch(`${base}/api/v1/series?${new URLSearchParams({ 'match[]': rule.seriesQuery })}`);
      const found = ((await series.json()) as { data: Array<Record<string, string>> }).data;
      expect(found.map((labels) => [labels.__name__, labels.namespace, labels.pod]).sort()).toEqual([
        [STREAMS_METRIC, 'flashcase', 'ai-proxy-0'],
        [STREAMS_METRIC, 'flashcase', 'ai-proxy-1'],
      ]);

      client.abort();
      // A stream that ends gives its count back: the HPA can scale the replica in again.
      const closed = { 'ai-proxy-0': 0, 'ai-proxy-1': 0 };
      expect(await readUntil(perPod, (value) => isDeepStrictEqual(value, closed), settle)).toEqual(closed);
    } finally {
      client.abort();
      await prometheus?.stop();
      await Promise.all(proxies.map((entry) => entry.process?.stop()));
      await fake.close();
      await deleteKeys(REDIS_URL, keyPrefix).catch(() => 0);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
