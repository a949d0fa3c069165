import type { AlertStateStore } from '@flashcase/store';
import type { Logger } from '@flashcase/telemetry';
import type { AlertRecord } from '../state/records';
import type { AlertRepository } from '../state/repository';
import type { Evaluator } from './evaluator';

/** Work only the evaluator does, after each evaluation (the daily digest). */
export interface LeaderTask {
  runOnce(nowMs: number): Promise<unknown>;
  idle(): Promise<void>;
}

/** The lease every replica competes for. */
export const EVALUATOR_LEASE = 'evaluator';

/** The lease lives 3 evaluation intervals, and never less than 5 s. */
export function leaseTtlMs(evalIntervalMs: number): number {
  return Math.max(3 * evalIntervalMs, 5_000);
}

export interface EvaluationLoopOptions {
  store: AlertStateStore;
  repository: AlertRepository;
  evaluator: Evaluator;
  /** Unique per process: who holds the lease. */
  replicaId: string;
  intervalMs: number;
  log: Logger;
  now?: () => number;
  /** Run by the leader after each evaluation (the daily digest); its failures never stop the loop. */
  leaderTasks?: readonly LeaderTask[];
}

/** What `/api/v1/health` says about this replica's part in the evaluation. */
export interface LoopStatus {
  role: 'leader' | 'follower' | 'starting';
  replica: string;
  last_evaluation_at: string | null;
}

/**
 * Every replica runs this loop, one iteration per evaluation interval: it asks the store for the
 * evaluator lease (taking it when free, extending it when held). The holder evaluates; the others
 * only refresh their view of the shared alerts (for the firing gauge). When the leader dies its
 * lease expires within the TTL and the next replica to ask takes over, carrying on from the state
 * in the store; a leader that stops cleanly releases the lease so another takes over at once.
 */
export class EvaluationLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private leader = false;
  private started = false;
  private storeDown = false;
  private lastEvaluationMs: number | undefined;
  private alerts: AlertRecord[] = [];
  private readonly now: () => number;
  private readonly ttlMs: number;

  constructor(private readonly options: EvaluationLoopOptions) {
    this.now = options.now ?? Date.now;
    this.ttlMs = leaseTtlMs(options.intervalMs);
  }

  start(): void {
    this.schedule(0);
  }

  /** The alerts as of the last iteration (every replica). */
  snapshot(): readonly AlertRecord[] {
    return this.alerts;
  }

  status(): LoopStatus {
    return {
      role: !this.started ? 'starting' : this.leader ? 'leader' : 'follower',
      replica: this.options.replicaId,
      last_evaluation_at: this.lastEvaluationMs === undefined ? null : new Date(this.lastEvaluationMs).toISOString(),
    };
  }

  /** Whether this replica may evaluate now (checked again right before it notifies). */
  confirmLeadership = async (): Promise<boolean> => {
    try {
      return await this.options.store.renewLease(EVALUATOR_LEASE, this.options.replicaId, this.ttlMs);
    } catch {
      return false;
    }
  };

  /** One iteration: lease, then evaluate (leader) or refresh (follower). Never throws. */
  async runOnce(): Promise<void> {
    const { store, repository, evaluator, replicaId, log } = this.options;
    let leader: boolean;
    try {
      leader = await store.acquireLease(EVALUATOR_LEASE, replicaId, this.ttlMs);
      if (this.storeDown) log.warn('Alert state store reachable again');
      this.storeDown = false;
    } catch (err) {
      if (!this.storeDown) log.error('Alert state store unreachable: not evaluating until it is back', { err });
      this.storeDown = true;
      leader = false;
    }
    if (leader !== this.leader) {
      log.info(
        leader
          ? `This replica (${replicaId}) is now the evaluator`
          : `This replica (${replicaId}) is no longer the evaluator`,
      );
    }
    this.leader = leader;
    this.started = true;
    if (this.storeDown) return;
    try {
      if (leader) {
        const nowMs = this.now();
        const result = await evaluator.evaluate(nowMs);
        this.alerts = result.alerts;
        this.lastEvaluationMs = nowMs;
        for (const task of this.options.leaderTasks ?? []) {
          await task.runOnce(nowMs).catch((err: unknown) => log.error('A leader task failed', { err }));
        }
      } else {
        this.alerts = await repository.alerts();
      }
    } catch (err) {
      log.error('Alert evaluation failed; retrying next interval', { err });
    }
  }

  /** Stops the loop, waits for the iteration under way and the deliveries, releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.options.evaluator.idle();
    await Promise.all((this.options.leaderTasks ?? []).map((task) => task.idle()));
    if (this.leader) {
      await this.options.store.releaseLease(EVALUATOR_LEASE, this.options.replicaId).catch(() => undefined);
      this.leader = false;
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const startedMs = Date.now();
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(Math.max(0, this.options.intervalMs - (Date.now() - startedMs)));
      });
    }, delayMs);
  }
}
