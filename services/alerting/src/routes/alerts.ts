import { randomUUID } from 'node:crypto';
import { HttpError } from '@flashcase/telemetry';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { isSilenced } from '../engine/silences';
import { adminOrService } from '../middleware/admin-or-service';
import { type AlertRule, GATEWAY_SIGNALS, TRAFFIC_GATED_SIGNALS } from '../rules/alert-rule';
import type { AlertRecord, SilenceRecord } from '../state/records';
import type { AlertRepository } from '../state/repository';
import { alertView, silenceView } from '../state/views';

/** What the alert routes read and write. */
export interface AlertRoutesDeps {
  repository: AlertRepository;
  rules: readonly AlertRule[];
  now?: () => number;
}

/** Thirty days: the longest silence one request may set. */
const MAX_SILENCE_S = 30 * 86_400;
const STATE_ORDER = { firing: 0, pending: 1, resolved: 2 } as const;
const SEVERITY_ORDER = { critical: 0, warning: 1 } as const;

const silenceSchema = z
  .object({
    matchers: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'label names are words of letters, digits and _'),
        z.string().min(1, 'must not be empty').max(200),
      )
      .refine((m) => Object.keys(m).length > 0, 'must have at least one matcher, e.g. {"name": "HighTokenUsage"}')
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 matchers'),
    duration_s: z.number().int('must be whole seconds').positive('must be positive').max(MAX_SILENCE_S),
    comment: z.string().max(1000).optional(),
  })
  .strict();

/** `Invalid field matchers.name: must not be empty`: the first problem, naming the field. */
function invalid(error: z.ZodError): HttpError {
  const issue = error.issues[0];
  const path = issue?.path.join('.') || 'body';
  const message = issue?.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue?.message;
  const field = issue?.code === 'unrecognized_keys' ? path : path;
  return new HttpError(400, 'invalid_request', `Invalid field ${field}: ${message ?? 'invalid'}`);
}

function sortAlerts(a: AlertRecord, b: AlertRecord): number {
  return (
    STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    b.startedAtMs - a.startedAtMs ||
    a.fingerprint.localeCompare(b.fingerprint)
  );
}

/**
 * `GET /api/v1/alerts` (active and resolved in the last 24 h), `GET /api/v1/alerts/rules`,
 * `POST|GET /api/v1/alerts/silences`, `DELETE /api/v1/alerts/silences/:id`: every replica answers
 * from the shared state.
 */
export function alertRoutes({ repository, rules, now = Date.now }: AlertRoutesDeps): Router {
  const router = Router();
  router.use('/api/v1/alerts', adminOrService());

  router.get('/api/v1/alerts', async (req: Request, res: Response) => {
    const nowMs = now();
    const [alerts, silences] = await Promise.all([repository.alerts(), repository.silences()]);
    const state = typeof req.query.state === 'string' ? req.query.state : undefined;
    if (state !== undefined && !['pending', 'firing', 'resolved'].includes(state)) {
      throw new HttpError(400, 'invalid_request', 'Invalid field state: one of pending, firing, resolved');
    }
    res.json({
      alerts: alerts
        .filter((a) => state === undefined || a.state === state)
        .sort(sortAlerts)
        .map((a) => alertView(a, isSilenced(a, silences, nowMs))),
    });
  });

  router.get('/api/v1/alerts/rules', (_req: Request, res: Response) => {
    res.json({
      rules: rules.map((rule) => ({
        name: rule.name,
        severity: rule.severity,
        signal: rule.signal,
        comparison: rule.comparison,
        threshold: rule.threshold,
        resolve_threshold: rule.resolveThreshold,
        for_s: rule.forS,
        ...(GATEWAY_SIGNALS.has(rule.signal) ? { window_s: rule.windowS } : {}),
        ...(TRAFFIC_GATED_SIGNALS.has(rule.signal) ? { min_requests: rule.minRequests } : {}),
        ...(rule.services.length > 0 ? { services: rule.services } : {}),
        labels: rule.labels,
        summary: rule.summary,
        runbook_url: rule.runbookUrl,
      })),
    });
  });

  router.get('/api/v1/alerts/silences', async (_req: Request, res: Response) => {
    const nowMs = now();
    const silences = await repository.silences();
    res.json({
      silences: silences.sort((a, b) => b.startsAtMs - a.startsAtMs).map((s) => silenceView(s, nowMs)),
    });
  });

  router.post('/api/v1/alerts/silences', async (req: Request, res: Response) => {
    if (req.body === undefined || typeof req.body !== 'object' || Array.isArray(req.body) || req.body === null) {
      throw new HttpError(400, 'invalid_request', 'Invalid field body: a JSON object is required');
    }
    const parsed = silenceSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const nowMs = now();
    const silence: SilenceRecord = {
      id: randomUUID(),
      matchers: parsed.data.matchers,
      comment: parsed.data.comment ?? '',
      createdBy: req.user?.id ?? 'internal',
      startsAtMs: nowMs,
      endsAtMs: nowMs + parsed.data.duration_s * 1000,
    };
    await repository.putSilence(silence, nowMs);
    res.status(201).json(silenceView(silence, nowMs));
  });

  router.delete('/api/v1/alerts/silences/:id', async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const deleted = /^[0-9a-f-]{36}$/.test(id) && (await repository.deleteSilence(id));
    if (!deleted) throw new HttpError(404, 'not_found', `No silence ${id}`);
    res.status(204).end();
  });

  return router;
}
