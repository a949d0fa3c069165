import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Request, Response } from 'express';

/** How a service reaches its counters store, as `/api/v1/health` reports it in `database`. */
export type StoreState = 'connected' | 'disconnected' | 'embedded';

export interface MemoryCheck {
  rss_bytes: number;
  limit_bytes: number;
  utilization: number;
}

function readNumber(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === 'max') return undefined;
    const value = Number(text);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

let cachedLimit: number | undefined;

/**
 * The memory limit this process lives under: the cgroup's (v2 `memory.max`, else v1
 * `memory.limit_in_bytes`) when one is set and below the machine's total, else total memory.
 * Read once: a container's limit does not change while it runs.
 */
export function memoryLimitBytes(): number {
  if (cachedLimit !== undefined) return cachedLimit;
  const total = totalmem();
  const cgroup = readNumber('/sys/fs/cgroup/memory.max') ?? readNumber('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  cachedLimit = cgroup !== undefined && cgroup < total ? cgroup : total;
  return cachedLimit;
}

/** RSS against the memory limit (`checks.memory` of the health answer). */
export function memoryCheck(): MemoryCheck {
  const rss = process.memoryUsage.rss();
  const limit = memoryLimitBytes();
  return { rss_bytes: rss, limit_bytes: limit, utilization: Math.round((rss / limit) * 10_000) / 10_000 };
}

export interface HealthOptions {
  version: string;
  storeState: () => StoreState;
  /** Extra named checks merged into `checks` (each may say `status: 'degraded'|'unhealthy'`). */
  checks?: () => Record<string, { status?: string; [key: string]: unknown }>;
  /** Utilization at which memory makes the service degraded (0.8) and unhealthy (0.95). */
  memoryDegradedAt?: number;
  memoryUnhealthyAt?: number;
}

/**
 * `GET /api/v1/health`, the same on every service: `healthy`, `degraded` (store unreachable, memory
 * above 80 %, or a degraded extra check) or `unhealthy` (memory above 95 % or an unhealthy check,
 * answered with 503 so orchestrators restart it).
 */
export function healthHandler({
  version,
  storeState,
  checks,
  memoryDegradedAt = 0.8,
  memoryUnhealthyAt = 0.95,
}: HealthOptions) {
  return function healthRoute(_req: Request, res: Response): void {
    const memory = memoryCheck();
    const database = storeState();
    const extra = checks?.() ?? {};
    const states = Object.values(extra).map((check) => check.status);
    let status: 'healthy' | 'degraded' | 'unhealthy' = 'healthy';
    if (database === 'disconnected' || memory.utilization >= memoryDegradedAt || states.includes('degraded')) {
      status = 'degraded';
    }
    if (memory.utilization >= memoryUnhealthyAt || states.includes('unhealthy')) status = 'unhealthy';
    res.status(status === 'unhealthy' ? 503 : 200).json({
      status,
      timestamp: new Date().toISOString(),
      version,
      database,
      checks: { memory, ...extra },
    });
  };
}
