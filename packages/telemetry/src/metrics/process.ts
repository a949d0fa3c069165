import { readFileSync } from 'node:fs';
import { type Meter, type MeterProvider, metrics, ValueType } from '@opentelemetry/api';
import { HostMetrics } from '@opentelemetry/host-metrics';
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
 * Process CPU time, resident memory and disk I/O as observable instruments, per the semantic
 * conventions: `process.cpu.time`, `process.memory.usage`, `process.disk.io` (by `disk.io.direction`
 * read/write, from /proc/self/io; off Linux it reports nothing). Network I/O (`system.network.io`)
 * comes from `@opentelemetry/host-metrics` (see {@link registerNetworkMetrics}); event-loop delay,
 * heap and GC from the runtime-node instrumentation the SDK registers.
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
}

/**
 * `system.network.io` (and `system.network.errors`, `.dropped`) by `network.io.direction` and
 * `system.device`: the interfaces of the process's network namespace, in a container or a pod the
 * container's own traffic. `@opentelemetry/host-metrics` limited to its `system.network` group: the
 * process CPU and memory above stay one series each.
 */
export function registerNetworkMetrics(meterProvider: MeterProvider = metrics.getMeterProvider()): void {
  new HostMetrics({ meterProvider, name: METER_NAME, metricGroups: ['system.network'] }).start();
}
