import { type Meter, metrics, ValueType } from '@opentelemetry/api';
import { METER_NAME } from './instruments';

/**
 * Process CPU time and resident memory as observable instruments (`process.cpu.time`,
 * `process.memory.usage`, per the process semantic conventions). Event-loop delay, heap and GC come
 * from the runtime-node instrumentation the SDK registers.
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
}
