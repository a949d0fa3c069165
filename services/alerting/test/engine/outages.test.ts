import { getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { OutageLog } from '../../src/engine/outages';

describe('outage log', () => {
  let lines: LineCapture;
  beforeEach(() => {
    lines = new LineCapture();
    setupLogging({ environment: 'test', stream: lines, otlp: false });
  });

  it('logs an outage once when it starts and once when it ends, however many evaluations note it', () => {
    const outages = new OutageLog(getLogger('alerting.test'));
    for (let i = 0; i < 5; i++) outages.note('ai-proxy usage', 'ECONNREFUSED');
    for (let i = 0; i < 3; i++) outages.note('ai-proxy usage', undefined);
    expect(lines.json().map((l) => [l.level, l.message])).toEqual([
      ['WARN', 'Signal ai-proxy usage cannot be read: ECONNREFUSED'],
      ['INFO', 'Signal ai-proxy usage can be read again'],
    ]);
  });

  it('keeps each signal apart, and says nothing of a signal that was never down', () => {
    const outages = new OutageLog(getLogger('alerting.test'));
    outages.note('gateway stats (300 s)', undefined);
    outages.note('ai-proxy tokens', 'missing');
    outages.note('ai-proxy pricing check', 'missing');
    outages.note('ai-proxy tokens', undefined);
    expect(lines.json().map((l) => l.message)).toEqual([
      'Signal ai-proxy tokens cannot be read: missing',
      'Signal ai-proxy pricing check cannot be read: missing',
      'Signal ai-proxy tokens can be read again',
    ]);
  });
});
