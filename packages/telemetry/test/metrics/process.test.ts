import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processDiskIo } from '../../src/metrics/process';

describe('disk I/O from /proc', () => {
  it('reads the storage bytes of /proc/self/io (read_bytes, write_bytes; not rchar/wchar)', () => {
    const text =
      'rchar: 6976\nwchar: 120\nsyscr: 10\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n';
    expect(processDiskIo(text)).toEqual({ read: 4096, write: 8192 });
    expect(processDiskIo('rchar: 1\n')).toBeUndefined();
    expect(processDiskIo(undefined)).toBeUndefined();
  });

  it("reads this process's own files on Linux", () => {
    const own = processDiskIo(readFileSync('/proc/self/io', 'latin1'));
    expect(Number.isSafeInteger(own?.read)).toBe(true);
    expect(Number.isSafeInteger(own?.write)).toBe(true);
  });
});
