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

/**
 * Bytes received and sent per network interface of a network namespace (`/proc/self/net/dev`, given
 * as text): in a container or a pod, the container's own traffic. Empty without the file.
 */
export function networkIo(text: string | undefined): { name: string; receive: number; transmit: number }[] {
  if (text === undefined) return [];
  const out: { name: string; receive: number; transmit: number }[] = [];
  // Two header lines, then `iface: rx_bytes rx_packets ... (8 receive fields) tx_bytes ...`.
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (fields.length < 9 || !Number.isFinite(fields[0]) || !Number.isFinite(fields[8])) continue;
    out.push({ name: line.slice(0, colon).trim(), receive: fields[0] as number, transmit: fields[8] as number });
  }
  return out;
}

/**
 * Process CPU time, resident memory, disk and network I/O as observable instruments, per the
 * semantic conventions: `process.cpu.time`, `process.memory.usage`, `process.disk.io` (by
 * `disk.io.direction` read/write, from /proc/self/io) and `system.network.io` (by
 * `network.io.direction` receive/transmit and `network.interface.name`, from /proc/self/net/dev:
 * the container's own interfaces where the service runs in one). Event-loop delay, heap and GC come
 * from the runtime-node instrumentation the SDK registers. Off Linux the two /proc metrics report
 * nothing.
 *
 * NOTE: not `@opentelemetry/host-metrics` for the network: it also registers its own
 * `process.cpu.time` and `process.memory.usage` (a second series of each under another scope) and
 * system CPU and memory, and polls them through `systeminformation`; the two counters wanted here
 * are one /proc file, read at collection time.
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
  meter
    .createObservableCounter('system.network.io', {
      description: "Bytes received and transmitted on the network interfaces of the process's network namespace",
      unit: 'By',
      valueType: ValueType.INT,
    })
    .addCallback((result) => {
      for (const { name, receive, transmit } of networkIo(readProc('/proc/self/net/dev'))) {
        result.observe(receive, { 'network.io.direction': 'receive', 'network.interface.name': name });
        result.observe(transmit, { 'network.io.direction': 'transmit', 'network.interface.name': name });
      }
    });
}
