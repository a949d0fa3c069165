import type { CountersStore } from '@flashcase/store';
import type { AILogger, Instruments, Logger } from '@flashcase/telemetry';
import type { ReportPeriods } from '../budgets/periods';
import type { Operation } from '../operations/upstream-request';
import { type PricingTable, priceTicks, ticksToUsd } from './pricing';
import type { TokenUsage } from './token-usage';

/** Where a call's cost comes from: the provider's bill, the pricing table, or an estimate. */
export type CostSource = 'billed' | 'priced' | 'estimated';

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
  /** The in-flight call this record settles. */
  callId?: string | undefined;
}

/** A call's cost as counted. */
export interface CallCost {
  ticks: number;
  source: CostSource;
}

export interface AccountingDeps {
  store: CountersStore;
  instruments: Instruments;
  aiLogger: AILogger;
  log: Logger;
  pricing: PricingTable;
  trackingEnabled: boolean;
  /** `gen_ai.provider.name` (`x_ai`, `simulated`). */
  providerName: string;
  /** The report periods a call counts in (`BUDGET_TIMEZONE`); none = not in the reports. */
  periods?: ReportPeriods | undefined;
}

/**
 * Where every AI request is counted, once: store counters (tokens, reasoning and cached tokens,
 * requests, errors, cost in ticks, the pricing check; unless TOKEN_USAGE_TRACKING_ENABLED=false),
 * the flashcase.ai.* and gen_ai.* metrics, and one AILogger usage record: the audit trail
 * `pnpm reconcile` rebuilds the counters from, so it carries every figure the counters add (tokens,
 * cost ticks and source, the priced ticks of a billed call, the outcome, the call id).
 *
 * The cost is the provider's bill when the usage carried one (`billed`), else the table's price
 * (`priced`, or `estimated` when the tokens were). Billed calls of priced models also count in the
 * pricing check: the bill next to what the table would have said.
 */
export class UsageAccounting {
  private readonly unpricedWarned = new Set<string>();

  constructor(private readonly deps: AccountingDeps) {}

  /** The report periods of a call starting now (those an orphan's estimate counts in). */
  periodsNow() {
    return this.deps.periods?.current();
  }

  /** The table's price of `usage` in ticks (0, with a warning once per model, when unpriced). */
  price(model: string, usage: Parameters<typeof priceTicks>[2]): number | undefined {
    const ticks = priceTicks(this.deps.pricing, model, usage);
    if (ticks === undefined && !this.unpricedWarned.has(model)) {
      this.unpricedWarned.add(model);
      this.deps.log.warn(`Model ${model} has no price in the pricing table: unbilled calls count as 0`, {
        model,
        unpriced: true,
      });
    }
    return ticks;
  }

  record(event: UsageEvent): CallCost {
    const { store, instruments, aiLogger, log, trackingEnabled } = this.deps;
    const { userId, operation, model, usage, estimated, outcome, durationS, errorType, callId } = event;
    const priced = this.price(model, usage);
    const billed = usage.billedTicks;
    const cost: CallCost =
      billed !== undefined
        ? { ticks: billed, source: 'billed' }
        : { ticks: priced ?? 0, source: estimated ? 'estimated' : 'priced' };

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
    if (usage.reasoningTokens > 0)
      instruments.aiTokensDetail.add(usage.reasoningTokens, { ...labels, type: 'reasoning' });
    if (usage.cachedPromptTokens > 0) {
      instruments.aiTokensDetail.add(usage.cachedPromptTokens, { ...labels, type: 'cached_prompt' });
    }
    if (cost.ticks > 0) instruments.aiCost.add(ticksToUsd(cost.ticks), { ...labels, source: cost.source });
    const check =
      billed !== undefined && priced !== undefined ? { billedTicks: billed, pricedTicks: priced } : undefined;
    if (check) {
      instruments.aiPricingCheckCalls.add(1, { model });
      instruments.aiPricingCheck.add(ticksToUsd(check.billedTicks), { model, side: 'billed' });
      instruments.aiPricingCheck.add(ticksToUsd(check.pricedTicks), { model, side: 'priced' });
    }
    if (usage.invalid) instruments.aiUsageInvalid.add(1, { model, reason: invalidKind(usage.invalid) });

    if (trackingEnabled) {
      // NOTE: not awaited: the counters' round trip is off the response path. The store sends the
      // records of a 5 ms window in one script call; reads on this replica send and wait for them
      // (read your writes), shutdown writes what is queued, and an outage buffers it (no usage
      // lost). Until the record lands, the call's in-flight record stands for it: a replica that
      // dies in between has the call counted (estimated) by a surviving one.
      store
        .recordUsage({
          userId,
          model,
          operation,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          reasoningTokens: usage.reasoningTokens,
          cachedPromptTokens: usage.cachedPromptTokens,
          costTicks: cost.ticks,
          billed: check,
          error: outcome !== 'success',
          callId,
          periods: this.deps.periods?.current(),
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
      reasoning_tokens: usage.reasoningTokens,
      cached_prompt_tokens: usage.cachedPromptTokens,
      costEstimate: ticksToUsd(cost.ticks),
      cost_usd_ticks: cost.ticks,
      cost_source: cost.source,
      durationMs: durationS * 1000,
      userId,
      estimated,
      outcome,
      provider: this.deps.providerName,
      ...(callId ? { call_id: callId } : {}),
      // With the bill, the table's price: what the pricing check (and a reconcile of it) adds.
      ...(check ? { priced_usd_ticks: check.pricedTicks } : {}),
      ...(usage.sources > 0 ? { sources_used: usage.sources } : {}),
      // Itemised only when the prompt was more than text (images, audio).
      ...(usage.promptDetails?.image || usage.promptDetails?.audio
        ? { prompt_tokens_details: usage.promptDetails }
        : {}),
      ...(usage.invalid ? { usage_invalid: usage.invalid } : {}),
      ...(priced === undefined ? { unpriced: true } : {}),
    });
    return cost;
  }
}

/** A bounded label for `flashcase.ai.usage.invalid` from the problem's text. */
function invalidKind(problem: string): string {
  if (problem.startsWith('total_tokens matches neither')) return 'total_mismatch';
  if (problem.includes('exceed')) return 'detail_exceeds';
  if (problem.includes('not a number')) return 'not_a_number';
  if (problem.includes('non-negative integer')) return 'negative_or_fractional';
  return 'other';
}
