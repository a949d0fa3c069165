import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { networkIo, processDiskIo } from '../../src/metrics/process';

describe('disk and network I/O from /proc', () => {
  it('reads the storage bytes of /proc/self/io (read_bytes, write_bytes; not rchar/wchar)', () => {
    const text =
      'rchar: 6976\nwchar: 120\nsyscr: 10\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n';
    expect(processDiskIo(text)).toEqual({ read: 4096, write: 8192 });
    expect(processDiskIo('rchar: 1\n')).toBeUndefined();
    expect(processDiskIo(undefined)).toBeUndefined();
  });

  it('reads received and transmitted bytes per interface of /proc/self/net/dev', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo: 629117182  111787    0    0    0     0          0         0 629117183  111787    0    0    0     0       0          0',
      '  eth0: 469891841  312000    0    0    0     0          0         0  1319100    9000    0    0    0     0       0          0',
      '',
    ].join('\n');
    expect(networkIo(text)).toEqual([
      { name: 'lo', receive: 629117182, transmit: 629117183 },
      { name: 'eth0', receive: 469891841, transmit: 1319100 },
    ]);
    expect(networkIo(undefined)).toEqual([]);
  });

  it("reads this process's own files on Linux", () => {
    const own = processDiskIo(readFileSync('/proc/self/io', 'latin1'));
    expect(Number.isSafeInteger(own?.read)).toBe(true);
    expect(Number.isSafeInteger(own?.write)).toBe(true);
    expect(networkIo(readFileSync('/proc/self/net/dev', 'latin1')).some((i) => i.name === 'lo')).toBe(true);
  });
});
