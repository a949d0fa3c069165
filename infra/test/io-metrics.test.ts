import { describe, expect, it } from 'vitest';
import { readJson, readText, readYaml } from './helpers/repo';

interface Compose {
  services: Record<string, { image?: string; volumes?: string[]; command?: string[] }>;
}
interface Prometheus {
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
}
interface Dashboard {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
}

const compose = readYaml<Compose>('docker-compose.yml');
const prometheus = readYaml<Prometheus>('infra/prometheus/prometheus.yml');
const runtime = readJson<Dashboard>('infra/grafana/dashboards/runtime.json');
const exprs = runtime.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));

describe('disk and network I/O', () => {
  it('compose runs node-exporter and cAdvisor at pinned versions, with read-only host mounts', () => {
    const node = compose.services['node-exporter'];
    const cadvisor = compose.services.cadvisor;
    expect(node?.image).toMatch(/^prom\/node-exporter:v\d+\.\d+\.\d+$/);
    expect(cadvisor?.image).toMatch(/^gcr\.io\/cadvisor\/cadvisor:v\d+\.\d+\.\d+$/);
    for (const mount of [...(node?.volumes ?? []), ...(cadvisor?.volumes ?? [])]) {
      expect(mount, mount).toMatch(/:ro(,rslave)?$/);
    }
  });

  it('Prometheus scrapes them as jobs node and cadvisor', () => {
    const targets = Object.fromEntries(
      prometheus.scrape_configs.map((job) => [job.job_name, job.static_configs?.flatMap((c) => c.targets)]),
    );
    expect(targets.node).toEqual(['node-exporter:9100']);
    expect(targets.cadvisor).toEqual(['cadvisor:8080']);
  });

  it("the Runtime dashboard shows each replica's disk and network I/O and the host's", () => {
    const uses = (metric: string) => exprs.some((expr) => expr.includes(`rate(${metric}`));
    for (const metric of [
      'process_disk_io_total',
      'system_network_io_total',
      'node_disk_read_bytes_total',
      'node_disk_written_bytes_total',
      'node_network_receive_bytes_total',
      'node_network_transmit_bytes_total',
    ]) {
      expect(uses(metric), metric).toBe(true);
    }
    const row = runtime.panels.find((panel) => panel.type === 'row' && panel.title === 'Disk and network I/O');
    expect(row).toBeDefined();
  });

  it("the docs say where Kubernetes gets host and container I/O: the cluster's node-exporter and kubelet", () => {
    const docs = readText('docs/production-monitoring.md');
    expect(docs).toMatch(/Kubernetes[^\n]*node-exporter/);
    expect(docs).toMatch(/kubelet[^\n]*cAdvisor|cAdvisor[^\n]*kubelet/);
  });
});
