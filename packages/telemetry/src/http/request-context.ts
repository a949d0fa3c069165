import { type Context, context, createContextKey } from '@opentelemetry/api';

/** The request's mutable slot in its context: the server span opens it, the request id fills it. */
interface RequestSlot {
  id: string | undefined;
  /** A record of its own (the AI usage record) already tells the request: no routine request log. */
  recorded: boolean;
}

const REQUEST_SLOT = createContextKey('flashcase.request');

/**
 * `ctx` with an empty request slot: everything that runs in it (and in contexts derived from it)
 * can read the request id once `setCurrentRequestId` has filled it.
 *
 * NOTE: a slot filled later rather than a value set by the request-id middleware: setting a value
 * means one more `context.with` per request, and the server span already opens one.
 */
export function withRequestSlot(ctx: Context): Context {
  const slot: RequestSlot = { id: undefined, recorded: false };
  return ctx.setValue(REQUEST_SLOT, slot);
}

/** Fills the active context's request slot (no-op outside a request). */
export function setCurrentRequestId(id: string): void {
  const slot = context.active().getValue(REQUEST_SLOT) as RequestSlot | undefined;
  if (slot) slot.id = id;
}

/**
 * The id of the request the caller runs for (`x-request-id`), or undefined outside a request (a
 * timer, a sweep) or when no OpenTelemetry context manager is registered (`OTEL_SDK_DISABLED`).
 */
export function currentRequestId(): string | undefined {
  return (context.active().getValue(REQUEST_SLOT) as RequestSlot | undefined)?.id;
}

/**
 * Notes that the request the caller runs for has its record already (an AI call's usage record,
 * which names its request id, user, operation, model and outcome): its routine request log, which
 * would repeat it, is left out; a 4xx or 5xx is still logged. No-op outside a request.
 */
export function markRequestRecorded(): void {
  const slot = context.active().getValue(REQUEST_SLOT) as RequestSlot | undefined;
  if (slot) slot.recorded = true;
}

/** Whether {@link markRequestRecorded} was called for the request the caller runs for. */
export function requestRecorded(): boolean {
  return (context.active().getValue(REQUEST_SLOT) as RequestSlot | undefined)?.recorded === true;
}
