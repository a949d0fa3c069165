/** Hidden (symbol) field carrying the W3C trace flags from the format to the OTLP transport. */
export const TRACE_FLAGS = Symbol.for('flashcase.log.trace_flags');

/** Fields every record carries in production JSON, in the seed's order. */
export const SEED_FIELDS = [
  'timestamp',
  'level',
  'logger',
  'message',
  'module',
  'function',
  'line',
  'user_id',
  'endpoint',
  'method',
  'status_code',
  'duration_ms',
  'tokens_used',
  'model',
  'cost_estimate',
] as const;
