import type { CountersStore } from '@flashcase/store';
import type { AILogger, Instruments, Logger } from '@flashcase/telemetry';
import type { Operation, TokenUsage } from '../operations/types';
import { costMicros, microsToUsd, type PricingTable } from './pricing';

export interface UsageEvent {
  userId: string;
  operation: Operation;
  model: string;
  usage: TokenUsage;
  /** The usage was estimated with the tokenizer (the upstream never reported it). */
  estimated: boolean;
  /** `success` or the error code the request ended with. */
  outcome: string;
  durationS: number;
  /** `error.type` for the duration metric when the call failed. */
  errorType?: string | undefined;
}

export interface AccountingDeps {
  store: CountersStore;
  instruments: Instruments;
  aiLogger: AILogger;
  log: Logger;
  pricing: PricingTable;
  trackingEnabled: boolean;
  providerName: string;
}

/**
 * Where every AI request is counted, once: store counters (tokens, requests, errors, micro-dollars;
 * unless TOKEN_USAGE_TRACKING_ENABLED=false), the flashcase.ai.* and gen_ai.* metrics, and one
 * AILogger usage record. Returns the request's cost in micro-dollars; the store write goes on
 * after it returns.
 */
export class UsageAccounting {
  private readonly unpricedWarned = new Set<string>();

  constructor(private readonly deps: AccountingDeps) {}

  record(event: UsageEvent): number {
    const { store, instruments, aiLogger, log, pricing, trackingEnabled } = this.deps;
    const { userId, operation, model, usage, estimated, outcome, durationS, errorType } = event;
    let micros = costMicros(pricing, model, usage.promptTokens, usage.completionTokens);
    if (micros === undefined) {
      micros = 0;
      if (!this.unpricedWarned.has(model)) {
        this.unpricedWarned.add(model);
        log.warn(`Model ${model} has no price in the pricing table: its cost is counted as 0`, { model });
      }
    }

    const labels = { operation, model };
    const genAiLabels = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': model,
      'gen_ai.provider.name': this.deps.providerName,
      'flashcase.ai.operation': operation,
    };
    instruments.aiRequests.add(1, { ...labels, outcome });
    instruments.genAiOperationDuration.record(
      durationS,
      errorType ? { ...genAiLabels, 'error.type': errorType } : genAiLabels,
    );
    if (usage.promptTokens > 0 || usage.completionTokens > 0) {
      instruments.aiTokens.add(usage.promptTokens, { ...labels, type: 'prompt' });
      instruments.aiTokens.add(usage.completionTokens, { ...labels, type: 'completion' });
      instruments.genAiTokenUsage.record(usage.promptTokens, { ...genAiLabels, 'gen_ai.token.type': 'input' });
      instruments.genAiTokenUsage.record(usage.completionTokens, { ...genAiLabels, 'gen_ai.token.type': 'output' });
    }
    if (micros > 0) instruments.aiCost.add(microsToUsd(micros), labels);

    if (trackingEnabled) {
      // NOTE: not awaited: the counters' round trip is off the response path. The store sends the
      // records of a 5 ms window in one script call; reads on this replica send and wait for them
      // (read your writes), shutdown writes what is queued, and an outage buffers it (no usage
      // lost). Another replica sees the usage at most 5 ms and a round trip after the answer.
      store
        .recordUsage({
          userId,
          model,
          operation,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          costMicros: micros,
          error: outcome !== 'success',
        })
        .catch((err: unknown) => {
          // The resilient store buffers through outages; reaching here means the buffer refused too.
          log.error('Usage could not be recorded in the store', {
            err,
            user_id: userId,
            tokens_used: usage.promptTokens + usage.completionTokens,
          });
        });
    }

    aiLogger.logAIRequest({
      operation,
      model,
      tokensUsed: usage.promptTokens + usage.completionTokens,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costEstimate: microsToUsd(micros),
      durationMs: durationS * 1000,
      userId,
      estimated,
      outcome,
      provider: this.deps.providerName,
    });
    return micros;
  }
}
