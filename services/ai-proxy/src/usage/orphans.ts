import type { CountersStore, RecoveredCall } from '@flashcase/store';
import type { AILogger, Instruments, Logger } from '@flashcase/telemetry';
import { ticksToUsd } from './pricing';

export interface OrphanSweeperOptions {
  store: CountersStore;
  instruments: Instruments;
  aiLogger: AILogger;
  log: Logger;
  /** `gen_ai.provider.name`. */
  providerName: string;
  /** `AI_INFLIGHT_STALE_MS`: a replica silent this long is dead. */
  staleAfterMs: number;
  /** How often this replica heartbeats and sweeps. Default a third of `staleAfterMs`. */
  intervalMs?: number;
}

/**
 * Every ai-proxy replica's share of "no call lost on a crash": it heartbeats in the store and
 * sweeps the in-flight calls of replicas that stopped heartbeating (SIGKILL, OOM, a lost node),
 * counting each as estimated usage (the store does that atomically, once, whichever replicas
 * sweep). Here the recovered calls get their metrics and usage records: `outcome` `replica_lost`,
 * `cost_source` `estimated`, the call's request and trace ids, and `origin_writer_id` (the store
 * writer that began it); the record's `replica_id` and `seq` are this replica's, which counted it.
 * If the lost replica was only frozen and writes its own record later, that record (same
 * `call_id`) replaces the estimate, in the store and in `pnpm reconcile`. A call is counted at most `staleAfterMs + intervalMs` after its replica
 * died. A sweep failure (Redis away) is logged once and retried at the next interval.
 */
export class OrphanSweeper {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: OrphanSweeperOptions) {
    const interval = options.intervalMs ?? Math.max(100, Math.floor(options.staleAfterMs / 3));
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
  }

  /** One heartbeat and sweep now (also what the timer runs); resolves to the calls recovered. */
  sweep(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const { store, log } = this.options;
    try {
      const calls = await store.recoverOrphanedCalls({ staleAfterMs: this.options.staleAfterMs });
      if (this.failing) log.info('In-flight call recovery works again');
      this.failing = false;
      if (calls.length > 0) {
        log.warn(`Counted ${calls.length} in-flight calls of a replica that stopped (estimated usage)`, {
          recovered_calls: calls.length,
        });
        this.report(calls);
      }
    } catch (err) {
      if (!this.failing) log.warn('In-flight call recovery failed; retrying', { err });
      this.failing = true;
    }
  }

  private report(calls: readonly RecoveredCall[]): void {
    const { instruments, aiLogger, providerName } = this.options;
    for (const call of calls) {
      const labels = { operation: call.operation, model: call.model };
      instruments.aiCallsRecovered.add(1, { model: call.model });
      instruments.aiRequests.add(1, { ...labels, outcome: 'replica_lost' });
      instruments.aiTokens.add(call.estimate.promptTokens, { ...labels, type: 'prompt' });
      instruments.aiTokens.add(call.estimate.completionTokens, { ...labels, type: 'completion' });
      if (call.estimate.costTicks > 0) {
        instruments.aiCost.add(ticksToUsd(call.estimate.costTicks), { ...labels, source: 'estimated' });
      }
      aiLogger.logAIRequest({
        operation: call.operation,
        model: call.model,
        tokensUsed: call.estimate.promptTokens + call.estimate.completionTokens,
        promptTokens: call.estimate.promptTokens,
        completionTokens: call.estimate.completionTokens,
        reasoning_tokens: 0,
        cached_prompt_tokens: 0,
        costEstimate: ticksToUsd(call.estimate.costTicks),
        cost_usd_ticks: call.estimate.costTicks,
        cost_source: 'estimated',
        durationMs: 0,
        userId: call.userId,
        estimated: true,
        outcome: 'replica_lost',
        provider: providerName,
        call_id: call.callId,
        requestId: call.requestId,
        // The call's own trace, not this sweep's (the logger keeps a trace id given when no span is active).
        ...(call.traceId ? { trace_id: call.traceId } : {}),
        origin_writer_id: call.writerId,
      });
    }
  }

  /** Stops the timer and waits for a sweep under way. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
