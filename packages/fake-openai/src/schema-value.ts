/** What the schema-driven values are derived from: the text the reply echoes (see `fakeCompletion`). */
export interface SchemaSeed {
  /** `digest` of the echoed text: 8 hex digits. */
  digest: string;
  /** The first word of the echoed text, or the digest when it has none. */
  word: string;
}

// Bounds the work on hostile schemas: deep nesting, recursive `$ref`s, huge `minItems`.
const MAX_DEPTH = 8;
const MAX_ITEMS = 8;
const MAX_STRING = 256;
const STABLE_DATE = '2024-01-01';

/**
 * A deterministic JSON value that fits the JSON schema `schema` (the subset tool `parameters` and
 * `json_schema` response formats use), seeded by `seed`:
 *
 * - `const` -> its value; a non-empty `enum` -> its first value; `anyOf` / `oneOf` -> the first
 *   alternative; `allOf` -> its members' properties merged; `$ref` -> `#/$defs/…` or
 *   `#/definitions/…` of the root schema (anything else counts as `{}`).
 * - `type` (the first non-`null` one of a list): `string` -> `seed.word` (`format` `date` /
 *   `date-time` / `email` / `uri` / `uuid` give a fixed value of that form; `minLength` pads with
 *   `-`, to at most 256 chars, `maxLength` cuts); `integer` -> `parseInt(first 4 hex of seed.digest) % 100`, `number` ->
 *   that + 0.5, both moved into `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum`;
 *   `boolean` -> true; `null` -> null; `object` -> every key of `properties` (so every `required`
 *   one), `{}` without them; `array` -> `prefixItems`' values, else `max(1, minItems)` (at most 8)
 *   values of `items`, `[]` without `items`.
 * - No `type`: an object when it has `properties`, an array when it has `items`, else a string.
 *
 * Below a nesting depth of 8 every value is `null`, so recursive schemas end. A schema that is not an
 * object (`true`, absent) counts as `{}`, i.e. a string.
 */
export function fakeSchemaValue(schema: unknown, seed: SchemaSeed): unknown {
  return valueFor(schema, seed, schema, 0);
}

type Schema = Record<string, unknown>;

function valueFor(schema: unknown, seed: SchemaSeed, root: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  const s: Schema = schema !== null && typeof schema === 'object' && !Array.isArray(schema) ? (schema as Schema) : {};
  if (typeof s.$ref === 'string') return valueFor(resolveRef(s.$ref, root), seed, root, depth + 1);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) return valueFor(options[0], seed, root, depth + 1);
  }
  if (Array.isArray(s.allOf) && s.allOf.length > 0) {
    const merged: Record<string, unknown> = {};
    for (const part of s.allOf) {
      const value = valueFor(part, seed, root, depth + 1);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(merged, value);
    }
    return merged;
  }
  switch (typeOf(s)) {
    case 'object':
      return objectOf(s, seed, root, depth);
    case 'array':
      return arrayOf(s, seed, root, depth);
    case 'integer':
      return numberOf(s, seed, true);
    case 'number':
      return numberOf(s, seed, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return stringOf(s, seed);
  }
}

function typeOf(s: Schema): string {
  const { type } = s;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const named = type.find((t) => typeof t === 'string' && t !== 'null');
    if (typeof named === 'string') return named;
    if (type.includes('null')) return 'null';
  }
  if (s.properties !== undefined) return 'object';
  if (s.items !== undefined || s.prefixItems !== undefined) return 'array';
  return 'string';
}

function resolveRef(ref: string, root: unknown): unknown {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match || root === null || typeof root !== 'object') return {};
  const defs = (root as Schema)[match[1] as string];
  if (defs === null || typeof defs !== 'object') return {};
  const name = (match[2] as string).replace(/~1/g, '/').replace(/~0/g, '~');
  return (defs as Schema)[name] ?? {};
}

function objectOf(s: Schema, seed: SchemaSeed, root: unknown, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const { properties } = s;
  if (properties === null || typeof properties !== 'object') return out;
  for (const [key, property] of Object.entries(properties as Schema)) {
    out[key] = valueFor(property, seed, root, depth + 1);
  }
  return out;
}

function arrayOf(s: Schema, seed: SchemaSeed, root: unknown, depth: number): unknown[] {
  if (Array.isArray(s.prefixItems)) return s.prefixItems.map((item) => valueFor(item, seed, root, depth + 1));
  if (s.items === undefined || s.items === false) return [];
  const min = typeof s.minItems === 'number' && Number.isInteger(s.minItems) ? s.minItems : 1;
  const count = Math.min(Math.max(1, min), MAX_ITEMS);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) out.push(valueFor(s.items, seed, root, depth + 1));
  return out;
}

function numberOf(s: Schema, seed: SchemaSeed, integer: boolean): number {
  const step = integer ? 1 : 0.5;
  let value = (Number.parseInt(seed.digest.slice(0, 4), 16) % 100) + (integer ? 0 : 0.5);
  const num = (key: string) => (typeof s[key] === 'number' ? (s[key] as number) : undefined);
  const minimum = num('minimum');
  const maximum = num('maximum');
  const exclusiveMinimum = num('exclusiveMinimum');
  const exclusiveMaximum = num('exclusiveMaximum');
  if (maximum !== undefined && value > maximum) value = maximum;
  if (exclusiveMaximum !== undefined && value >= exclusiveMaximum) value = exclusiveMaximum - step;
  if (minimum !== undefined && value < minimum) value = minimum;
  if (exclusiveMinimum !== undefined && value <= exclusiveMinimum) value = exclusiveMinimum + step;
  return integer ? Math.ceil(value) : value;
}

function stringOf(s: Schema, seed: SchemaSeed): string {
  let text: string;
  switch (s.format) {
    case 'date':
      text = STABLE_DATE;
      break;
    case 'date-time':
      text = `${STABLE_DATE}T00:00:00Z`;
      break;
    case 'email':
      text = `${seed.digest}@example.com`;
      break;
    case 'uri':
    case 'url':
      text = `https://example.com/${seed.digest}`;
      break;
    case 'uuid':
      text = `${seed.digest}-0000-4000-8000-000000000000`;
      break;
    default:
      text = seed.word;
  }
  if (typeof s.minLength === 'number' && text.length < s.minLength) {
    text = text.padEnd(Math.min(s.minLength, MAX_STRING), '-');
  }
  if (typeof s.maxLength === 'number' && text.length > s.maxLength) text = text.slice(0, Math.max(0, s.maxLength));
  return text;
}
