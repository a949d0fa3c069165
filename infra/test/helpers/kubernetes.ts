import { execFileSync } from 'node:child_process';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator';
import * as kubernetes from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';
import { repoPath } from './repo';
import { requireBinary } from './stack';

/** One rendered Kubernetes object, as plain data. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [field: string]: unknown;
}

export type Overlay = 'dev' | 'production';

/** `kubectl kustomize deploy/kubernetes/overlays/<overlay>`: what `kubectl apply -k` would send. */
export function render(overlay: Overlay): KubeObject[] {
  requireBinary('kubectl', 'kubectl');
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', repoPath('deploy/kubernetes/overlays', overlay)], {
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (error) {
    const failed = error as { stderr?: string };
    throw new Error(`kubectl kustomize ${overlay} failed:\n${failed.stderr ?? String(error)}`);
  }
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${overlay}: ${doc.errors.join('; ')}`);
    return doc.toJS() as KubeObject;
  });
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: object): { validate(): void };
}

function isModelClass(value: unknown): value is ModelClass {
  const candidate = value as Partial<ModelClass> | undefined;
  return typeof value === 'function' && typeof candidate?.apiVersion === 'string' && typeof candidate.kind === 'string';
}

/** Every model class of both packages, by `apiVersion/kind`. */
function modelIndex(): Map<string, ModelClass> {
  const index = new Map<string, ModelClass>();
  const walk = (namespace: Record<string, unknown>, depth: number) => {
    for (const value of Object.values(namespace)) {
      if (isModelClass(value)) index.set(`${value.apiVersion}/${value.kind}`, value);
      else if (typeof value === 'object' && value !== null && depth < 3)
        walk(value as Record<string, unknown>, depth + 1);
    }
  };
  walk(kubernetes as unknown as Record<string, unknown>, 0);
  walk(prometheusOperator as unknown as Record<string, unknown>, 0);
  return index;
}

let models: Map<string, ModelClass> | undefined;

/**
 * Validates `object` against the Kubernetes OpenAPI schema of its kind (kubernetes-models) or the
 * prometheus-operator CRD schema (@kubernetes-models/prometheus-operator). Throws on an unknown
 * kind or a schema violation. NOTE: those schemas do not reject unknown fields; the invariant
 * tests read the fields that matter, so a misspelt one shows there as missing.
 */
export function validateObject(object: KubeObject): void {
  models ??= modelIndex();
  const Model = models.get(`${object.apiVersion}/${object.kind}`);
  if (!Model) throw new Error(`${object.apiVersion} ${object.kind} has no schema`);
  new Model(object).validate();
}

// ------------------------------------------------------------------------------- pod templates

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string; optional?: boolean };
      configMapKeyRef?: { name: string; key: string; optional?: boolean };
    };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: Array<{ topologyKey: string; labelSelector: LabelSelector }>;
}

export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export function byKind<T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as T[];
}

export function named<T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the render`);
  return found as T;
}

/** A container's environment: plain values (env and envFrom ConfigMaps) and secret references. */
export interface ContainerEnv {
  values: Record<string, string>;
  secrets: Record<string, { secret: string; key: string; optional: boolean }>;
}

export function containerEnv(objects: KubeObject[], container: Container): ContainerEnv {
  const env: ContainerEnv = { values: {}, secrets: {} };
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) throw new Error(`${container.name}: envFrom a Secret hides which variables it sets`);
    const configMap = named(objects, 'ConfigMap', source.configMapRef?.name ?? '');
    Object.assign(env.values, configMap.data ?? {});
  }
  for (const variable of container.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef;
    const fromConfigMap = variable.valueFrom?.configMapKeyRef;
    delete env.values[variable.name];
    if (secret) {
      env.secrets[variable.name] = { secret: secret.name, key: secret.key, optional: secret.optional === true };
    } else if (fromConfigMap) {
      const value = named(objects, 'ConfigMap', fromConfigMap.name).data?.[fromConfigMap.key];
      if (value !== undefined) env.values[variable.name] = value;
    } else {
      env.values[variable.name] = variable.value ?? '';
    }
  }
  return env;
}

/** The render's Deployment `name`. */
export function deploymentOf(objects: KubeObject[], name: string): Deployment {
  return named<Deployment>(objects, 'Deployment', name);
}

/** The one container of Deployment `name` (throws when it has more: the tests read one). */
export function containerOf(objects: KubeObject[], name: string): Container {
  const [container, ...others] = deploymentOf(objects, name).spec.template.spec.containers;
  if (!container || others.length > 0) throw new Error(`Deployment ${name} must have exactly one container`);
  return container;
}

/** Values good enough for ENVIRONMENT=production's start-up checks, by Secret key. */
export const SECRET_VALUES: Record<string, string> = {
  JWT_SECRET: 'k8s-test-jwt-secret-0123456789abcdef-0123456789',
  INTERNAL_TOKEN: 'k8s-test-internal-token-0123456789abcdef',
  XAI_API_KEY: 'xai-k8s-test',
  REDIS_URL: 'redis://:password@redis.example.internal:6379',
  REDIS_CLUSTER_NODES: 'redis-0.example.internal:6379,redis-1.example.internal:6379',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x',
  SMTP_URL: 'smtp://user:pass@smtp.example.internal:587',
};

/**
 * A Deployment's environment as its pod would see it, the Secret's keys filled in from
 * {@link SECRET_VALUES} (the optional ones only when `withOptional`). Throws for a Secret key that
 * has no test value.
 */
export function podEnvironment(objects: KubeObject[], name: string, withOptional: boolean): Record<string, string> {
  const { values, secrets } = containerEnv(objects, containerOf(objects, name));
  const env = { ...values };
  for (const [variable, ref] of Object.entries(secrets)) {
    if (ref.optional && !withOptional) continue;
    const value = SECRET_VALUES[ref.key];
    if (value === undefined) throw new Error(`no test value for Secret key ${ref.key}`);
    env[variable] = value;
  }
  return env;
}

// ------------------------------------------------------------------------------- autoscaling

/** One entry of an autoscaling/v2 HPA's `metrics`. */
export interface HpaMetric {
  type: 'Resource' | 'Pods' | 'Object' | 'External' | 'ContainerResource';
  resource?: { name: string; target: { type: string; averageUtilization?: number } };
  pods?: { metric: { name: string }; target: { type: string; averageValue?: string } };
}

/** `behavior.scaleUp` or `behavior.scaleDown` of an HPA. */
export interface HpaRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: Array<{ type: 'Pods' | 'Percent'; value: number; periodSeconds: number }>;
}

export interface Hpa extends KubeObject {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: HpaMetric[];
    behavior?: { scaleUp?: HpaRules; scaleDown?: HpaRules };
  };
}

/** A Kubernetes quantity as a number: plain, or with the `m` (1/1000) or `k` suffix. Throws otherwise. */
export function quantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|k)?$/.exec(text);
  if (!match) throw new Error(`not a quantity this check reads: ${JSON.stringify(text)}`);
  return Number(match[1]) * (match[2] === 'm' ? 0.001 : match[2] === 'k' ? 1000 : 1);
}

/**
 * The PromQL prometheus-adapter sends for a rule's `metricsQuery` when the HPA asks for `series` on
 * `pods` of `namespace`: `<<.Series>>` is the series name, `<<.LabelMatchers>>` selects the
 * namespace and the pods, `<<.GroupBy>>` is the pod label (the rule's resource overrides map the
 * labels `namespace` and `pod`).
 */
export function adapterQuery(metricsQuery: string, series: string, namespace: string, pods: string[]): string {
  return metricsQuery
    .replaceAll('<<.Series>>', series)
    .replaceAll('<<.LabelMatchers>>', `namespace="${namespace}",pod=~"${pods.join('|')}"`)
    .replaceAll('<<.GroupBy>>', 'pod');
}

// ------------------------------------------------------------------------------- network policies

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** Does `selector` select `labels`? (An empty selector selects everything.) */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === 'In'
        ? has && values.includes(labels[key] as string)
        : operator === 'NotIn'
          ? !has || !values.includes(labels[key] as string)
          : operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** A party to a connection: a pod (namespace, its namespace's labels, its labels) or the outside. */
export interface Peer {
  name: string;
  namespace?: string;
  namespaceLabels?: Record<string, string>;
  labels?: Record<string, string>;
}

interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}

interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: Array<{ port?: number | string; protocol?: string }> }>;
}

function peerMatches(peer: NetworkPolicyPeer, source: Peer, policyNamespace: string): boolean {
  if (peer.ipBlock) throw new Error('ipBlock peers are not modelled by this check');
  if (source.namespace === undefined) return false; // outside the cluster: only a rule without `from`
  const namespaceOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, source.namespaceLabels ?? {})
    : source.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, source.labels ?? {}) : true;
  return namespaceOk && podOk;
}

/**
 * Whether the NetworkPolicies of the render admit a TCP connection from `source` to `port` of the
 * pod `destination`, as the API defines it: a pod no Ingress policy selects takes anything; a
 * selected pod takes what at least one rule of one selecting policy admits.
 */
export function admits(objects: KubeObject[], source: Peer, destination: Peer, port: number): boolean {
  const policies = byKind(objects, 'NetworkPolicy').filter((policy) => {
    const spec = policy.spec as unknown as NetworkPolicySpec;
    const types = spec.policyTypes ?? ['Ingress'];
    return (
      types.includes('Ingress') &&
      (policy.metadata.namespace ?? '') === (destination.namespace ?? '') &&
      selects(spec.podSelector, destination.labels ?? {})
    );
  });
  if (policies.length === 0) return true;
  return policies.some((policy) =>
    ((policy.spec as unknown as NetworkPolicySpec).ingress ?? []).some((rule) => {
      const portOk =
        rule.ports === undefined ||
        rule.ports.some((p) => {
          if (typeof p.port === 'string') throw new Error('named ports are not modelled by this check');
          return (p.protocol ?? 'TCP') === 'TCP' && (p.port === undefined || p.port === port);
        });
      const fromOk =
        rule.from === undefined ||
        rule.from.length === 0 ||
        rule.from.some((peer) => peerMatches(peer, source, policy.metadata.namespace ?? ''));
      return portOk && fromOk;
    }),
  );
}
