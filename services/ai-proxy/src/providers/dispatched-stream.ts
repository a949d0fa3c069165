import type { Dispatcher } from 'undici';

/** Chunks held before the upstream is paused, and the level at which it is resumed. */
const HIGH_WATER = 16;
const LOW_WATER = 4;

export interface StreamHead {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * One upstream call through `dispatcher.dispatch`: `head` settles with the status and headers;
 * then either iterate, which yields the body as it arrives and pauses the upstream socket while
 * more than {@link HIGH_WATER} chunks wait for the reader, or read it whole with {@link text}.
 * Breaking out of the iteration (or {@link close}) abandons the call; `signal` aborts it.
 *
 * NOTE: what `dispatcher.request()` gives, without its per-call Readable stream and handler, which
 * outlive the call long enough to survive young-generation collections (see
 * docs/adr/0004-undici-dispatch-for-upstream-calls.md).
 */
export class DispatchedStream implements AsyncIterable<Buffer> {
  readonly head: Promise<StreamHead>;
  private controller: Dispatcher.DispatchController | undefined;
  private readonly queue: Buffer[] = [];
  private ended = false;
  private closed = false;
  /** Reading the whole answer: nothing to hold back. */
  private collecting = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onAbort = () => this.controller?.abort(abortReason(this.signal));

  constructor(
    dispatcher: Dispatcher,
    options: Dispatcher.DispatchOptions,
    private readonly signal: AbortSignal,
  ) {
    let resolveHead: (head: StreamHead) => void = () => {};
    let rejectHead: (err: Error) => void = () => {};
    this.head = new Promise<StreamHead>((resolve, reject) => {
      resolveHead = resolve;
      rejectHead = reject;
    });
    // A head nobody awaits any more (the caller gave up) must not become an unhandled rejection.
    this.head.catch(() => {});
    signal.addEventListener('abort', this.onAbort, { once: true });
    dispatcher.dispatch(options, {
      onRequestStart: (controller) => {
        this.controller = controller;
        if (signal.aborted) controller.abort(abortReason(signal));
        else if (this.closed) controller.abort(new Error('the reader stopped'));
      },
      onResponseStart: (_controller, statusCode, headers) => resolveHead({ statusCode, headers }),
      onResponseData: (controller, chunk) => {
        this.queue.push(chunk);
        if (!this.collecting && this.queue.length >= HIGH_WATER) controller.pause();
        this.notify();
      },
      onResponseEnd: () => {
        this.ended = true;
        this.settle();
      },
      onResponseError: (_controller, err) => {
        this.failure = err;
        rejectHead(err);
        this.settle();
      },
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk !== undefined) {
          if (this.queue.length <= LOW_WATER && this.controller?.paused) this.controller.resume();
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      this.close();
    }
  }

  /** The rest of the body, whole, as text (a JSON answer, an error answer). */
  async text(): Promise<string> {
    this.collecting = true;
    if (this.controller?.paused) this.controller.resume();
    try {
      while (!this.ended && !this.failure) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
      if (this.failure) throw this.failure;
      const chunks = this.queue.splice(0);
      return (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
    } finally {
      this.close();
    }
  }

  /** Abandons the call if its answer has not ended; idempotent. */
  close(): void {
    this.closed = true;
    this.signal.removeEventListener('abort', this.onAbort);
    if (!this.ended && !this.failure) this.controller?.abort(new Error('the reader stopped'));
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private settle(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.notify();
  }
}
