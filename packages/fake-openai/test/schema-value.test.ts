import { describe, expect, it } from 'vitest';
import { digest, fakeSchemaValue, fakeToolArguments, schemaSeed, toolCallTokens } from '../src/index';

const seed = { digest: 'a1b2c3d4', word: 'Lisbon' };
// parseInt('a1b2', 16) % 100 = 41394 % 100 = 94
const stable = 94;

describe('the schema-driven value', () => {
  it('fills every property of an object with a value of its type', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        count: { type: 'integer' },
        ratio: { type: 'number' },
        ok: { type: 'boolean' },
        nothing: { type: 'null' },
        mode: { type: 'string', enum: ['fast', 'slow'] },
        fixed: { const: 42 },
        maybe: { type: ['null', 'string'] },
        list: { type: 'array', items: { type: 'integer' }, minItems: 2 },
        pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'boolean' }] },
        empty: { type: 'array' },
        nested: { type: 'object', properties: { when: { type: 'string', format: 'date-time' } } },
        either: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
      },
      required: ['name'],
    };
    expect(fakeSchemaValue(schema, seed)).toEqual({
      name: 'Lisbon',
      count: stable,
      ratio: stable + 0.5,
      ok: true,
      nothing: null,
      mode: 'fast',
      fixed: 42,
      maybe: 'Lisbon',
      list: [stable, stable],
      pair: ['Lisbon', true],
      empty: [],
      nested: { when: '2024-01-01T00:00:00Z' },
      either: stable,
    });
    expect(fakeSchemaValue(schema, seed)).toEqual(fakeSchemaValue(structuredClone(schema), { ...seed }));
  });

  it('keeps numbers and strings within their bounds', () => {
    expect(fakeSchemaValue({ type: 'integer', maximum: 10 }, seed)).toBe(10);
    expect(fakeSchemaValue({ type: 'integer', minimum: 100 }, seed)).toBe(100);
    expect(fakeSchemaValue({ type: 'integer', exclusiveMaximum: 5 }, seed)).toBe(4);
    expect(fakeSchemaValue({ type: 'number', exclusiveMinimum: 200 }, seed)).toBe(200.5);
    expect(fakeSchemaValue({ type: 'string', maxLength: 3 }, seed)).toBe('Lis');
    expect(fakeSchemaValue({ type: 'string', minLength: 8 }, seed)).toBe('Lisbon--');
    expect((fakeSchemaValue({ type: 'string', minLength: 1e9 }, seed) as string).length).toBe(256);
    expect(fakeSchemaValue({ type: 'string', format: 'email' }, seed)).toBe('a1b2c3d4@example.com');
  });

  it('follows $ref into $defs and definitions, and ends recursive schemas', () => {
    const tree = {
      $ref: '#/$defs/node',
      $defs: { node: { type: 'object', properties: { label: { type: 'string' }, child: { $ref: '#/$defs/node' } } } },
    };
    let node = fakeSchemaValue(tree, seed) as { label: string; child: unknown } | null;
    let depth = 0;
    while (node !== null) {
      expect(node.label).toBe('Lisbon');
      node = node.child as typeof node;
      depth += 1;
    }
    expect(depth).toBeGreaterThan(1);
    expect(fakeSchemaValue({ $ref: '#/definitions/x', definitions: { x: { type: 'boolean' } } }, seed)).toBe(true);
    expect(fakeSchemaValue({ $ref: 'https://example.com/other' }, seed)).toBe('Lisbon');
  });

  it('seeds from the last user message, or from a tool result that ends the conversation', () => {
    expect(schemaSeed([{ role: 'user', content: '  Porto by night' }])).toEqual({
      digest: digest('  Porto by night'),
      word: 'Porto',
    });
    expect(schemaSeed([{ role: 'system', content: 'x' }])).toEqual({ digest: digest(''), word: digest('') });
    const afterTool = [
      { role: 'user', content: 'weather?' },
      { role: 'tool', content: 'Sunny' },
    ];
    expect(schemaSeed(afterTool).word).toBe('Sunny');
  });
});

describe('tool call arguments and tokens', () => {
  it('are the JSON of the schema value, {} without parameters, billed 3 + ceil(length / 4)', () => {
    const messages = [{ role: 'user', content: 'Madrid' }];
    const args = fakeToolArguments({ type: 'object', properties: { city: { type: 'string' } } }, messages);
    expect(args).toBe('{"city":"Madrid"}');
    expect(fakeToolArguments(undefined, messages)).toBe('{}');
    expect(toolCallTokens(args)).toBe(3 + Math.ceil(17 / 4));
    expect(toolCallTokens('{}')).toBe(4);
  });
});
