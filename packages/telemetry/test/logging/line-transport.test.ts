import { Writable } from 'node:stream';
import { MESSAGE } from 'triple-beam';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { LineTransport } from '../../src/logging/line-transport';

class Recorder extends Writable {
  readonly writes: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes.push(chunk.toString());
    callback();
  }
}

const record = (text: string) => ({ level: 'info', message: text, [MESSAGE]: text });
const format = winston.format((info) => info)();

describe('line transport', () => {
  it('writes the lines of one event-loop turn in one write', async () => {
    const out = new Recorder();
    const transport = new LineTransport(out, format, true);
    transport.log(record('one'));
    transport.log(record('two'));
    expect(out.writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.writes).toEqual(['one\ntwo\n']);
    transport.close();
  });

  it('writes each line at once when unbuffered, and what waits when closed', () => {
    const direct = new Recorder();
    const unbuffered = new LineTransport(direct, format, false);
    unbuffered.log(record('now'));
    expect(direct.writes).toEqual(['now\n']);
    const out = new Recorder();
    const buffered = new LineTransport(out, format, true);
    buffered.log(record('pending'));
    buffered.close();
    expect(out.writes).toEqual(['pending\n']);
  });
});
