import { type RequestHandler, Router } from 'express';
import type { Forwarder } from '../proxy/forward';

/** AI routes named one by one so metrics carry a bounded, meaningful `http.route`. */
export const AI_ROUTES: readonly string[] = Object.freeze([
  'chat',
  'rewrite',
  'autocomplete',
  'chat/completions',
  'usage',
  'usage/me',
  'usage/timeseries',
  'usage/users',
]);

/**
 * Everything under `/api/v1/ai/` goes on to ai-proxy, which owns the AI routes' validation, limits
 * and answers: the known routes by name (their own `http.route`), the rest under one template.
 * Mount after authentication, the general limits and the JSON parser.
 */
export function aiRoutes(aiProxy: Forwarder): Router {
  const router = Router();
  const forward: RequestHandler = function forwardToAiProxy(req, res) {
    return aiProxy.forward(req, res);
  };
  for (const path of AI_ROUTES) router.all(`/api/v1/ai/${path}`, forward);
  router.all('/api/v1/ai/*rest', forward);
  return router;
}
