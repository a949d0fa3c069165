/**
 * Whether two stored documents hold the same value, whatever the order of their keys: plain
 * objects key by key, arrays element by element, anything else with `Object.is`. A key whose value
 * is `undefined` counts as absent, as it is in the JSON the store keeps, so a record read back from
 * the store equals the one that was written.
 */
export function sameDocument(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameDocument(item, b[i]));
  }
  const left = definedEntries(a as Record<string, unknown>);
  const right = definedEntries(b as Record<string, unknown>);
  if (left.size !== right.size) return false;
  for (const [key, value] of left) {
    if (!right.has(key) || !sameDocument(value, right.get(key))) return false;
  }
  return true;
}

function definedEntries(record: Record<string, unknown>): Map<string, unknown> {
  return new Map(Object.entries(record).filter(([, value]) => value !== undefined));
}
