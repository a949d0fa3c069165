import { readFileSync } from 'node:fs';
import { type Meter, metrics, ValueType } from '@opentelemetry/api';
import { METER_NAME } from './instruments';

/** A /proc file's text, or undefined where there is none (not Linux, a restricted sandbox). */
function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * The bytes this process made the storage layer read and write (`read_bytes`, `write_bytes` of
 * `/proc/self/io`, given as text: what reached the disk or its cache misses, not every `read()`
 * call). Undefined without the file or those fields.
 */
export function processDiskIo(text: string | undefined): { read: number; write: number } | undefined {
  if (text === undefined) return undefined;
  const read = /^read_bytes:\s*(\d+)/m.exec(text);
  const write = /^write_bytes:\s*(\d+)/m.exec(text);
  if (!read || !write) return undefined;
  return { read: Number(read[1]), write: Number(write[1]) };
}

/** The counters of one network interface, as `/proc/net/dev` gives them. */
export interface InterfaceCounters {
  device: string;
  receive: { bytes: number; errors: number; dropped: number };
  transmit: { bytes: number; errors: number; dropped: number };
}

/**
 * The interface of the default route in `/proc/net/route` (given as text): the one a container's
 * traffic leaves by. Undefined without the file or a default route.
 */
export function defaultRouteInterface(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n').slice(1)) {
    // Iface, Destination, Gateway, Flags, ... , Mask: a default route has destination and mask 0.
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 8 && fields[1] === '00000000' && fields[7] === '00000000') return fields[0];
  }
  return undefined;
}

/** The counters of `device` in `/proc/net/dev` (given as text), or undefined where it is not listed. */
export function interfaceCounters(text: string | undefined, device: string): InterfaceCounters | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === -1 || line.slice(0, colon).trim() !== device) continue;
    // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets errs drop ...
    const n = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (n.length < 12 || n.some((value) => !Number.isSafeInteger(value))) return undefined;
    return {
      device,
      receive: { bytes: n[0] as number, errors: n[2] as number, dropped: n[3] as number },
      transmit: { bytes: n[8] as number, errors: n[10] as number, dropped: n[11] as number },
    };
  }
  return undefined;
}

/**
 * Process CPU time, resident memory and disk I/O as observable instruments, per the semantic
 * conventions: `process.cpu.time`, `process.memory.usage`, `process.disk.io` (by `disk.io.direction`
 * read/write, from /proc/self/io). Network I/O of the default route's interface of the process's
 * network namespace (in a container, its own traffic): `system.network.io`, `system.network.errors`
 * and `system.network.packet.dropped`, by `system.device` and `network.io.direction`, from
 * /proc/net. Off Linux the /proc ones report nothing. Event-loop delay, heap and GC come from the
 * runtime-node instrumentation (sdk/start.ts).
 *
 * NOTE: the network instruments replace `@opentelemetry/instrumentation-host-metrics`, whose
 * systeminformation ran a shell (`ip route | grep default`) synchronously on every collection,
 * blocking the event loop for about 7 ms each scrape (docs/adr/0011).
 */
export function registerProcessMetrics(meter: Meter = metrics.getMeter(METER_NAME)): void {
  meter
    .createObservableCounter('process.cpu.time', {
      description: 'Total CPU seconds broken down by mode',
      unit: 's',
    })
    .addCallback((result) => {
      const usage = process.cpuUsage();
      result.observe(usage.user / 1e6, { 'cpu.mode': 'user' });
      result.observe(usage.system / 1e6, { 'cpu.mode': 'system' });
    });
  meter
    .createObservableUpDownCounter('process.memory.usage', {
      description: 'The amount of physical memory in use (RSS)',
      unit: 'By',
      valueType: ValueType.INT,
    })
    .addCallback((result) => {
      result.observe(process.memoryUsage.rss());
    });
  meter
    .createObservableCounter('process.disk.io', {
      description: 'Disk bytes transferred (what reached storage), by direction',
      unit: 'By',
      valueType: ValueType.INT,
    })
    .addCallback((result) => {
      const io = processDiskIo(readProc('/proc/self/io'));
      if (!io) return;
      result.observe(io.read, { 'disk.io.direction': 'read' });
      result.observe(io.write, { 'disk.io.direction': 'write' });
    });
  registerNetworkMetrics(meter);
}

function registerNetworkMetrics(meter: Meter): void {
  const io = meter.createObservableCounter('system.network.io', {
    description: 'Bytes received and transmitted on the default interface',
    unit: 'By',
    valueType: ValueType.INT,
  });
  const errors = meter.createObservableCounter('system.network.errors', {
    description: 'Receive and transmit errors on the default interface',
    unit: '{error}',
    valueType: ValueType.INT,
  });
  const dropped = meter.createObservableCounter('system.network.packet.dropped', {
    description: 'Packets dropped on the default interface',
    unit: '{packet}',
    valueType: ValueType.INT,
  });
  meter.addBatchObservableCallback(
    (result) => {
      const device = defaultRouteInterface(readProc('/proc/net/route'));
      const counters = device === undefined ? undefined : interfaceCounters(readProc('/proc/net/dev'), device);
      if (!counters) return;
      for (const direction of ['receive', 'transmit'] as const) {
        const attributes = { 'system.device': counters.device, 'network.io.direction': direction };
        result.observe(io, counters[direction].bytes, attributes);
        result.observe(errors, counters[direction].errors, attributes);
        result.observe(dropped, counters[direction].dropped, attributes);
      }
    },
    [io, errors, dropped],
  );
}
