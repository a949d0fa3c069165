import { MESSAGE } from 'triple-beam';
import type winston from 'winston';
import TransportStream from 'winston-transport';

/**
 * Lines to a stream, written once per event-loop turn: a service answering thousands of requests a
 * second writes one or two records each, and a write per line was a system call per line. Lines
 * wait at most until the turn ends, and whatever waits is written when the process exits, however
 * it exits short of a kill.
 *
 * NOTE: Node writes stdout to a file synchronously, but to a pipe only while the pipe has room:
 * once a slow reader lets it fill, writes queue in the process and `process.exit()` drops them.
 * A pipe is therefore set blocking, as a file is: a log reader that falls behind slows the
 * writer instead of losing its lines.
 */
export class LineTransport extends TransportStream {
  private pending = '';
  private scheduled: NodeJS.Immediate | undefined;
  private readonly flushNow = () => this.flush();

  /** `buffered: false` writes each line at once (a test's capture stream reads them synchronously). */
  constructor(
    private readonly out: NodeJS.WritableStream,
    format: winston.Logform.Format,
    private readonly buffered: boolean,
  ) {
    super({ format });
    if (buffered) {
      process.once('exit', this.flushNow);
      blockingWrites(out);
    }
  }

  override log(info: Record<string | symbol, unknown>, callback?: () => void): void {
    this.pending += `${String(info[MESSAGE])}\n`;
    if (!this.buffered || this.pending.length >= 65_536) this.flush();
    else this.scheduled ??= setImmediate(this.flushNow);
    callback?.();
  }

  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.out.write(text);
  }

  override close(): void {
    this.flush();
    process.removeListener('exit', this.flushNow);
  }
}

/** Makes writes to `out` wait for room when it is a pipe (its libuv handle), as they do for a file. */
function blockingWrites(out: NodeJS.WritableStream): void {
  const handle = (out as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}
