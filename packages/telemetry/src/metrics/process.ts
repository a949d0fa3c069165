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
 * Process CPU time, resident memory and disk I/O as observable instruments, per the semantic
 * conventions: `process.cpu.time`, `process.memory.usage`, `process.disk.io` (by `disk.io.direction`
 * read/write, from /proc/self/io; off Linux it reports nothing). Network I/O (`system.network.io`)
 * comes from the host-metrics instrumentation, and event-loop delay, heap and GC from the
 * runtime-node one, both registered with the SDK (sdk/start.ts).
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
