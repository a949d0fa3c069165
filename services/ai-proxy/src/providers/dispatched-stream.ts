import type { Dispatcher } from 'undici';

export interface StreamHead {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * What a reader does with each piece of the body: `undefined` to go on, a promise to hold the
 * upstream back until it settles (the client cannot take more yet), or `'stop'` once it has read
 * all it wants (the rest of the answer is abandoned). A throw abandons the call with that error.
 */
export type PieceReader = (piece: Buffer) => Promise<void> | 'stop' | undefined;

/**
 * One upstream call through `dispatcher.dispatch`: `head` settles with the status and headers;
 * then either {@link read} hands each piece of the body to a reader as it arrives, straight from
 * the socket's callback (no iterator, promise or copy per piece), pausing the upstream socket
 * while the reader holds it back; or {@link text} reads it whole. {@link close} abandons the
 * call; `signal` aborts it.
 *
 * NOTE: what `dispatcher.request()` gives, without its per-call Readable stream and handler, which
 * outlive the call long enough to survive young-generation collections (see
 * docs/adr/0004-undici-dispatch-for-upstream-calls.md).
 */
export class DispatchedStream {
  readonly head: Promise<StreamHead>;
  private controller: Dispatcher.DispatchController | undefined;
  /** Pieces that came while nobody read (before `read`, while the reader held back, for `text`). */
  private readonly queue: Buffer[] = [];
  private ended = false;
  private closed = false;
  private failure: Error | undefined;
  private reader: PieceReader | undefined;
  /** The reader holds the upstream back until this settles. */
  private holding = false;
  /** The reader stopped: whatever else comes is dropped. */
  private stopped = false;
  /** Settles `read` or `text` (and wakes `text` when the body ended). */
  private finish: ((err?: Error) => void) | undefined;
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
      onResponseData: (controller, piece) => {
        if (this.stopped) return;
        if (this.reader && !this.holding) this.hand(piece);
        else {
          this.queue.push(piece);
          // The reader holds back: stop reading the socket. Before `read` (a microtask after the
          // head) or for `text`, the pieces wait: pausing there would leave the answer's end unread.
          if (this.reader) controller.pause();
        }
      },
      onResponseEnd: () => {
        this.ended = true;
        if (!this.holding && this.queue.length === 0) this.settle();
        else if (this.finish && !this.reader) this.settle();
      },
      onResponseError: (_controller, err) => {
        this.failure = err;
        rejectHead(err);
        this.settle(err);
      },
    });
  }

  /**
   * Hands the body to `reader`, piece by piece as it arrives (what came before first); resolves
   * when the body ended or the reader said `'stop'`, rejects with the call's failure or the
   * reader's throw.
   */
  read(reader: PieceReader): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.finish = (err) => (err ? reject(err) : resolve());
      this.reader = reader;
      if (this.failure) return this.settle(this.failure);
      this.drain();
    });
  }

  /** The rest of the body, whole, as text (a JSON answer, an error answer). */
  async text(): Promise<string> {
    try {
      await new Promise<void>((resolve, reject) => {
        this.finish = (err) => (err ? reject(err) : resolve());
        if (this.failure) return this.settle(this.failure);
        if (this.ended) return this.settle();
        if (this.controller?.paused) this.controller.resume();
      });
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

  /** One piece to the reader: on, held back (the socket paused until it settles), or stopped. */
  private hand(piece: Buffer): void {
    const reader = this.reader as PieceReader;
    let next: ReturnType<PieceReader>;
    try {
      next = reader(piece);
    } catch (err) {
      this.stop(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (next === undefined) return;
    if (next === 'stop') {
      this.stop();
      return;
    }
    this.holding = true;
    this.controller?.pause();
    next.then(
      () => {
        this.holding = false;
        this.drain();
      },
      (err: unknown) => this.stop(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** What waited, to the reader (until it holds back again); then the socket resumes, or `read` ends. */
  private drain(): void {
    while (!this.holding && this.finish && this.reader) {
      const piece = this.queue.shift();
      if (piece === undefined) break;
      this.hand(piece);
    }
    if (this.holding || !this.finish) return;
    if (this.failure) this.settle(this.failure);
    else if (this.ended) this.settle();
    else if (this.controller?.paused) this.controller.resume();
  }

  /**
   * The reader is done (or threw): `read` settles and the rest of the answer is abandoned. After a
   * `'stop'` the socket is read on (what comes is dropped) and the call closed a turn later: the
   * answer's end usually follows the reader's last piece at once, and an answer that ended keeps
   * its connection.
   */
  private stop(err?: Error): void {
    this.reader = undefined;
    this.stopped = true;
    this.queue.length = 0;
    // Settled first: the abort may call back into onResponseError at once, with its own error.
    this.settle(err);
    if (err) {
      this.close();
      return;
    }
    if (this.controller?.paused) this.controller.resume();
    setImmediate(() => this.close());
  }

  private settle(err?: Error): void {
    this.signal.removeEventListener('abort', this.onAbort);
    const finish = this.finish;
    this.finish = undefined;
    this.reader = undefined;
    finish?.(err);
  }
}
