/** A buffered write, ordered within its stream by `seq`. */
export interface Sequenced {
  stream: string;
  seq: number;
}

/**
 * A bounded FIFO of writes waiting for Redis. Writes of one stream stay in `seq` order even when a
 * write that was in flight when Redis failed comes back later than younger ones (`insert`), because
 * the Redis side skips any sequence at or below the highest one it applied.
 */
export class WriteBuffer<T extends Sequenced> {
  private items: T[] = [];
  private head = 0;
  /** Highest seq ever buffered per stream: a newer write appends without a scan. */
  private readonly newest = new Map<string, number>();
  /** Writes refused because the buffer was full. */
  dropped = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds a write at its place in its stream; false (and counted in `dropped`) when full. */
  insert(item: T): boolean {
    if (this.length >= this.capacity) {
      this.dropped++;
      return false;
    }
    const newest = this.newest.get(item.stream) ?? Number.NEGATIVE_INFINITY;
    if (item.seq > newest) {
      this.newest.set(item.stream, item.seq);
      this.items.push(item);
      return true;
    }
    // A late write: before the oldest younger write of its stream.
    let at = this.items.length;
    for (let i = this.items.length - 1; i >= this.head; i--) {
      const other = this.items[i] as T;
      if (other.stream !== item.stream) continue;
      if (other.seq < item.seq) break;
      at = i;
    }
    this.items.splice(at, 0, item);
    return true;
  }

  /** The oldest write, left in place. */
  peek(): T | undefined {
    return this.items[this.head];
  }

  /** Removes and returns the oldest write. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as unknown as T;
    this.head++;
    // Compact now and then so shifting stays O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
