import { describe, expect, it } from 'vitest';
import { WriteBuffer } from '../../src/resilient/write-buffer';

interface Write {
  stream: string;
  seq: number;
}

function drain(buffer: WriteBuffer<Write>): string[] {
  const out: string[] = [];
  for (let w = buffer.shift(); w; w = buffer.shift()) out.push(`${w.stream}${w.seq}`);
  return out;
}

describe('write buffer', () => {
  it('keeps arrival order across streams and seq order within each', () => {
    const buffer = new WriteBuffer<Write>(10);
    for (const w of [
      { stream: 'u', seq: 2 },
      { stream: 's', seq: 1 },
      { stream: 'u', seq: 3 },
      // In flight when Redis failed, so it fails late: it goes before its younger writes.
      { stream: 'u', seq: 1 },
      { stream: 's', seq: 2 },
    ]) {
      buffer.insert(w);
    }
    expect(drain(buffer)).toEqual(['u1', 'u2', 's1', 'u3', 's2']);
  });

  it('refuses writes past its capacity and counts them', () => {
    const buffer = new WriteBuffer<Write>(3);
    for (let seq = 1; seq <= 5; seq++) buffer.insert({ stream: 'u', seq });
    expect(buffer.length).toBe(3);
    expect(buffer.dropped).toBe(2);
    expect(drain(buffer)).toEqual(['u1', 'u2', 'u3']);
  });

  it('stays FIFO through many shifts (compaction)', () => {
    const buffer = new WriteBuffer<Write>(10_000);
    for (let seq = 1; seq <= 5000; seq++) buffer.insert({ stream: 'u', seq });
    for (let seq = 1; seq <= 3000; seq++) expect(buffer.shift()?.seq).toBe(seq);
    buffer.insert({ stream: 'u', seq: 2999 });
    expect(buffer.peek()?.seq).toBe(2999);
    expect(buffer.length).toBe(2001);
  });
});
