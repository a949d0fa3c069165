import { describe, expect, it } from 'vitest';
import { checkOpenFiles, maxStreamsFor, softOpenFiles } from '../../src/streams/fd-limit.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;

describe('open-files limit', () => {
  it('reads the soft limit of /proc/<pid>/limits, none when unlimited', () => {
    expect(softOpenFiles(LIMITS)).toBe(1024);
    expect(softOpenFiles('Max open files            unlimited   unlimited   files')).toBeUndefined();
  });

  it('allows about half the descriptors as streams, after the headroom', () => {
    expect(maxStreamsFor(1024)).toBe(412);
    expect(maxStreamsFor(undefined)).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses N streams above the limit with a line saying what to raise', () => {
    expect(() => checkOpenFiles(1000, 1024)).toThrow(/--streams=1000 needs about 2200 open files.*ulimit -n 2200/);
    expect(() => checkOpenFiles(400, 1024)).not.toThrow();
    expect(() => checkOpenFiles(4000, undefined)).not.toThrow();
  });
});
