/**
 * `patches/@opentelemetry__core@3.1.0.patch` changes how the SDK checks span attributes: no
 * `WeakSet` for a string, number or boolean, and no `Object.entries` array per call. These tests pin
 * down that the SDK still keeps, copies, truncates and drops exactly what OpenTelemetry says, and
 * that the allocation the patch removes is really gone (pnpm applies the patch on install).
 */
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';

function tracerWith(limits: { attributeCountLimit?: number; attributeValueLengthLimit?: number } = {}) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })], spanLimits: limits });
  return { tracer: provider.getTracer('attributes-patch'), exporter };
}

const RealWeakSet = globalThis.WeakSet;

afterEach(() => {
  globalThis.WeakSet = RealWeakSet;
});

/** Counts `new WeakSet()` while `fn` runs. */
function countWeakSets(fn: () => void): number {
  let created = 0;
  globalThis.WeakSet = class Counted<T extends WeakKey> extends RealWeakSet<T> {
    constructor(values?: readonly T[] | null) {
      super(values);
      created++;
    }
  } as unknown as WeakSetConstructor;
  try {
    fn();
  } finally {
    globalThis.WeakSet = RealWeakSet;
  }
  return created;
}

describe('span attributes through the patched @opentelemetry/core', () => {
  it('keeps valid values, copies nested ones, drops invalid and cyclic ones, and counts what it drops', () => {
    const { tracer, exporter } = tracerWith();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const nested = { model: 'grok-4-fast', tokens: [1, 2], inner: { ok: true } };
    const inherited = Object.create({ fromPrototype: 'no' }) as Record<string, unknown>;
    inherited.own = 'yes';
    const bytes = new Uint8Array([1, 2, 3]);

    const span = tracer.startSpan('s', {
      attributes: {
        'http.route': '/api/v1/ai/chat/completions',
        'http.response.status_code': 200,
        'gen_ai.usage.cost': 0.25,
        retried: false,
        list: ['a', 'b'],
        nested,
        bytes,
        nothing: undefined,
        fn: (() => 1) as unknown as string,
        cyclic: cyclic as never,
        '': 'empty key',
      },
    });
    span.setAttribute('late', 'value');
    span.setAttribute('late.fn', (() => 2) as unknown as string);
    span.setAttributes(inherited as never);
    span.end();

    const [done] = exporter.getFinishedSpans();
    expect(done?.attributes).toEqual({
      'http.route': '/api/v1/ai/chat/completions',
      'http.response.status_code': 200,
      'gen_ai.usage.cost': 0.25,
      retried: false,
      list: ['a', 'b'],
      nested: { model: 'grok-4-fast', tokens: [1, 2], inner: { ok: true } },
      bytes: new Uint8Array([1, 2, 3]),
      late: 'value',
      own: 'yes',
    });
    // The function, the cycle and the empty key at the start; setAttribute's invalid value is
    // dropped with a warning but not counted, as the unpatched SDK does.
    expect(done?.droppedAttributesCount).toBe(3);
    // Nested values are copies: changing the caller's object later does not change the span.
    nested.model = 'changed';
    expect((done?.attributes.nested as { model: string } | undefined)?.model).toBe('grok-4-fast');
  });

  it('applies the count and length limits', () => {
    const { tracer, exporter } = tracerWith({ attributeCountLimit: 2, attributeValueLengthLimit: 4 });
    tracer.startSpan('s', { attributes: { a: 'abcdefgh', b: ['xyzxyz'], c: 'dropped', d: 1 } }).end();
    const [done] = exporter.getFinishedSpans();
    expect(done?.attributes).toEqual({ a: 'abcd', b: ['xyzx'] });
    expect(done?.droppedAttributesCount).toBe(2);
  });

  it('builds no WeakSet for scalar attributes, and still one per object value (cycle check)', () => {
    const { tracer } = tracerWith();
    const scalars = countWeakSets(() => {
      const span = tracer.startSpan('s', { attributes: { a: 'x', b: 1, c: true } });
      span.setAttribute('d', 'y');
      span.end();
    });
    expect(scalars).toBe(0);
    const objects = countWeakSets(() => {
      tracer.startSpan('s', { attributes: { o: { k: 'v' } } }).end();
    });
    // Checked twice by startSpan (before and after sampling), as in the unpatched SDK.
    expect(objects).toBeGreaterThan(0);
  });
});
