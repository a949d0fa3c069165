import { GLOBAL_BUCKET_RETENTION_MS } from '../time';

/**
 * Identifies one write of a writer that may replay it (the resilient store's buffer): the script
 * applies a writer's sequence number at most once, so a write whose reply was lost and that is
 * replayed later is not counted twice. Sequences of one writer must be applied in increasing order.
 */
export interface WriteSequence {
  writerId: string;
  seq: number;
}

/** A writer's high-water key lives this long after its last write (longer than any replay wait). */
export const WRITER_TTL_MS = GLOBAL_BUCKET_RETENTION_MS;
