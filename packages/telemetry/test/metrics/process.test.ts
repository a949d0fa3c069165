import { readFileSync } from 'node:fs';
import { testMeters } from '@flashcase/testkit';
import { describe, expect, it } from 'vitest';
import {
  defaultRouteInterface,
  interfaceCounters,
  processDiskIo,
  registerProcessMetrics,
} from '../../src/metrics/process';

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

const ROUTE = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
  'eth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
  '',
].join('\n');

const DEV = [
  'Inter-|   Receive                                                |  Transmit',
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
  '    lo: 109973141  481586    0    0    0     0          0         0 109973141  481586    0    0    0     0       0          0',
  '  eth0: 532159797   13893    3    5    0     0          0         0  1099865    9349    7   11    0     0       0          0',
  '',
].join('\n');

describe('network I/O from /proc/net', () => {
  it("finds the default route's interface (destination and mask 0), not the first listed", () => {
    expect(defaultRouteInterface(ROUTE)).toBe('eth0');
    expect(defaultRouteInterface(ROUTE.replace('eth0\t00000000', 'eth0\t0000000A'))).toBeUndefined();
    expect(defaultRouteInterface(undefined)).toBeUndefined();
  });

  it("reads an interface's bytes, errors and drops in each direction", () => {
    expect(interfaceCounters(DEV, 'eth0')).toEqual({
      device: 'eth0',
      receive: { bytes: 532159797, errors: 3, dropped: 5 },
      transmit: { bytes: 1099865, errors: 7, dropped: 11 },
    });
    expect(interfaceCounters(DEV, 'eth9')).toBeUndefined();
    expect(interfaceCounters(DEV.replace('532159797', 'x'), 'eth0')).toBeUndefined();
  });

  it("observes this machine's default interface as system.network.*", async () => {
    const meters = testMeters();
    registerProcessMetrics(meters.meter);
    const device = defaultRouteInterface(readFileSync('/proc/net/route', 'latin1'));
    expect(device).toBeTruthy();

    const points = await meters.points();
    const of = (name: string) => points.filter((point) => point.name === name);
    const io = of('system.network.io');
    expect(io.map((point) => point.attributes)).toEqual([
      { 'system.device': device, 'network.io.direction': 'receive' },
      { 'system.device': device, 'network.io.direction': 'transmit' },
    ]);
    // the counters are the kernel's, as /proc/net/dev gives them at collection
    const now = interfaceCounters(readFileSync('/proc/net/dev', 'latin1'), device as string);
    expect(io[0]?.value).toBeGreaterThan(0);
    expect(io[0]?.value).toBeLessThanOrEqual(now?.receive.bytes as number);
    expect(of('system.network.errors')).toHaveLength(2);
    expect(of('system.network.packet.dropped')).toHaveLength(2);
    await meters.shutdown();
  });
});
