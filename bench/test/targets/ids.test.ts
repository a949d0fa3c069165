import { describe, expect, it } from 'vitest';
import { parseBaselines, parseTarget, VARIANTS } from '../../src/targets/ids.ts';

describe('target ids', () => {
  it('names the five letters, each with its label and the plain stack', () => {
    const d = parseTarget('d');
    expect(d).toMatchObject({ id: 'd', letter: 'd', variant: 'full', stackKey: 'full', label: 'gateway -> ai-proxy' });
    expect(d.baseline).toBeUndefined();
    expect(parseTarget('a').label).toBe('upstream (direct)');
    expect(parseTarget('e').label).toBe('portkey gateway 1.15.2');
  });

  it('gives a c/d variant its own stack, shared by c and d of that variant', () => {
    const c = parseTarget('c-stock-http');
    const d = parseTarget('d-stock-http');
    expect(c.stackKey).toBe('stock-http');
    expect(d.stackKey).toBe(c.stackKey);
    expect(d.stack.env).toEqual({ FLASHCASE_OTEL_STOCK: 'http' });
    expect(d.label).toBe('gateway -> ai-proxy, instrumentation-http');
  });

  it('runs a baseline on its checkout, and a variant on the baseline with both in the label', () => {
    const baselines = parseBaselines('unpatched:/tmp/unpatched');
    const plain = parseTarget('d@unpatched', baselines);
    expect(plain).toMatchObject({ variant: 'full', baseline: 'unpatched', stackKey: 'unpatched' });
    expect(plain.stack.root).toBe('/tmp/unpatched');
    expect(plain.label).toBe('gateway -> ai-proxy @unpatched');
    const stock = parseTarget('d-stock-all@unpatched', baselines);
    expect(stock.stackKey).toBe('stock-all@unpatched');
    expect(stock.stack).toMatchObject({ root: '/tmp/unpatched', env: { FLASHCASE_OTEL_STOCK: 'http,logs' } });
    expect(stock.label).toBe('gateway -> ai-proxy, all stock @unpatched');
  });

  it('refuses unknown letters and variants, variants of a/b/e, and baselines not given', () => {
    for (const id of ['f', 'd-nope', 'a-otel-off', 'e@base', 'd@base', 'd-', '']) {
      expect(() => parseTarget(id), id).toThrow(new RegExp(`^unknown target ${id}: a, b, c, d, e, c\\|d-otel-off`));
    }
  });

  it('reads --baseline as name:dir pairs, an unnamed one as base', () => {
    expect([...parseBaselines('/a/b')]).toEqual([['base', '/a/b']]);
    expect([...parseBaselines('x:/a,y:/b:c')]).toEqual([
      ['x', '/a'],
      ['y', '/b:c'],
    ]);
    expect(parseBaselines('').size).toBe(0);
  });

  it('sets the stock variants as the telemetry package reads them', () => {
    expect(VARIANTS['stock-http']?.env).toEqual({ FLASHCASE_OTEL_STOCK: 'http' });
    expect(VARIANTS['stock-logs']?.env).toEqual({ FLASHCASE_OTEL_STOCK: 'logs' });
    expect(VARIANTS['stock-all']?.env).toEqual({ FLASHCASE_OTEL_STOCK: 'http,logs' });
    expect(VARIANTS.proto?.env).toEqual({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
  });
});
