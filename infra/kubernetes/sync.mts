// Writes the files of deploy/kubernetes that are copies of another source, so each has one:
//   base/prometheus-rule.yaml            the PrometheusRule of infra/prometheus/rules/*.yml
//   overlays/dev/otel-collector.yaml      otel-collector.yaml (the compose stack's collector)
//   overlays/production/otel-collector-{loadbalancer,sampler}.yaml   the two tiers' configs
// (kustomize reads no file outside its directory, so the collector configs are copied in).
//
//   node infra/kubernetes/sync.mts           rewrite them
//   node infra/kubernetes/sync.mts --check   exit 1, naming each file that differs (infra/test runs it)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';

const REPO = resolve(import.meta.dirname, '../..');
const KUBERNETES = join(REPO, 'deploy/kubernetes');
const RULES = join(REPO, 'infra/prometheus/rules');

const HEADER = (source: string) =>
  `# GENERATED from ${source} by infra/kubernetes/sync.mts: edit the source, then run\n` +
  '#   node infra/kubernetes/sync.mts\n';

/** The PrometheusRule holding every group of every rule file, in file order, unchanged. */
function prometheusRule(): string {
  const files = readdirSync(RULES)
    .filter((file) => file.endsWith('.yml'))
    .sort();
  const groups = files.flatMap(
    (file) => (parse(readFileSync(join(RULES, file), 'utf8')) as { groups: unknown[] }).groups,
  );
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'flashcase', labels: { 'app.kubernetes.io/name': 'flashcase' } },
    spec: { groups },
  };
  return HEADER('infra/prometheus/rules/*.yml') + stringify(rule, { lineWidth: 0 });
}

function copyOf(source: string): string {
  return HEADER(source) + readFileSync(join(REPO, source), 'utf8');
}

/** Every generated file: its path under deploy/kubernetes and the text it must have. */
function generated(): Record<string, string> {
  return {
    'base/prometheus-rule.yaml': prometheusRule(),
    'overlays/dev/otel-collector.yaml': copyOf('otel-collector.yaml'),
    'overlays/production/otel-collector-loadbalancer.yaml': copyOf('otel-collector-loadbalancer.yaml'),
    'overlays/production/otel-collector-sampler.yaml': copyOf('otel-collector-sampler.yaml'),
  };
}

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, text] of Object.entries(generated())) {
  const target = join(KUBERNETES, path);
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) stale.push(relative(REPO, target));
  else writeFileSync(target, text);
}
if (stale.length > 0) {
  console.error(`out of date (run node infra/kubernetes/sync.mts): ${stale.join(', ')}`);
  process.exit(1);
}
