import { errorBody, HttpError, requireUser, sendJson, sendJsonText } from '@flashcase/telemetry';
import { type Request, type Response, Router } from 'express';
import type { AiCalls } from '../calls/ai-calls';
import { buildCompletionsRequest, buildOperationRequest, type RequestDefaults } from '../operations/requests';
import { OPERATIONS } from '../operations/upstream-request';
import { ticksToUsd } from '../usage/pricing';
import type { TokenUsage } from '../usage/token-usage';
import { clientGone, sendDone, sendEvent, startSse, writeFrame } from './sse';

export interface AiRoutesDeps {
  calls: AiCalls;
  defaults: RequestDefaults;
  /** False for provider `xai` without a key: every call answers 503 ai_not_configured. */
  configured: boolean;
}

/** A FlashCase operation's `usage`: completion includes reasoning, prompt includes cached tokens. */
function usageJson(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    reasoning_tokens: usage.reasoningTokens,
    cached_prompt_tokens: usage.cachedPromptTokens,
  };
}

/**
 * `chat/completions` relays the provider's usage object unchanged (an OpenAI client reads its own
 * provider's fields); an estimate, which the provider never sent, in OpenAI's shape.
 */
function openAIUsageJson(raw: unknown, usage: TokenUsage) {
  if (raw !== undefined && raw !== null && typeof raw === 'object') return raw;
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

function userOf(req: Request): string {
  // requireUser() ran first
  return req.user?.id ?? '';
}

/** The AI operations: chat, rewrite, autocomplete (FlashCase JSON/SSE) and chat/completions (OpenAI). */
export function aiRoutes({ calls, defaults, configured }: AiRoutesDeps): Router {
  const router = Router();
  const ensureConfigured = () => {
    if (!configured) {
      throw new HttpError(503, 'ai_not_configured', 'AI provider xai is selected but XAI_API_KEY is not set');
    }
  };

  for (const operation of OPERATIONS) {
    router.post(`/api/v1/ai/${operation}`, requireUser(), async (req: Request, res: Response) => {
      const upstream = buildOperationRequest(operation, req.body, defaults);
      ensureConfigured();
      const cancel = clientGone(res);
      if (!upstream.stream) {
        const call = await calls.complete(userOf(req), upstream, cancel.signal);
        res.set(call.headers);
        sendJson(res, {
          id: call.result.id,
          model: call.result.model,
          operation,
          content: call.result.content,
          finish_reason: call.result.finishReason,
          usage: usageJson(call.usage),
          cost_estimate_usd: ticksToUsd(call.cost.ticks),
        });
        return;
      }
      const summary = await calls.stream(userOf(req), upstream, cancel, {
        start: (headers) => startSse(res, headers),
        chunk: (chunk) => (chunk.delta ? sendEvent(res, { delta: chunk.delta }) : undefined),
      });
      startSse(res, {});
      if (summary.error) {
        sendEvent(res, errorBody(summary.error, req.id));
      } else {
        sendEvent(res, {
          done: true,
          finish_reason: summary.finishReason,
          usage: usageJson(summary.usage),
          cost_estimate_usd: ticksToUsd(summary.cost.ticks),
        });
        sendDone(res);
      }
      res.end();
    });
  }

  router.post('/api/v1/ai/chat/completions', requireUser(), async (req: Request, res: Response) => {
    const upstream = buildCompletionsRequest(req.body, defaults);
    ensureConfigured();
    const cancel = clientGone(res);
    if (!upstream.stream) {
      const call = await calls.complete(userOf(req), upstream, cancel.signal);
      res.set(call.headers);
      // The answer as the upstream sent it (tool calls, refusals, reasoning, logprobs, every choice);
      // only an answer without usage gets ours, estimated, in OpenAI's shape.
      const { body, text, rawUsage } = call.result;
      if (rawUsage !== undefined && text !== undefined) sendJsonText(res, text);
      else sendJson(res, { ...body, usage: openAIUsageJson(rawUsage, call.usage) });
      return;
    }
    const summary = await calls.stream(userOf(req), upstream, cancel, {
      start: (headers) => startSse(res, headers),
      // The upstream's events as they came (no JSON serialised per chunk). We always ask upstream
      // for the usage chunk; it is passed on only to clients that asked too.
      chunk: (chunk) => (chunk.usageOnly && !upstream.clientWantsUsage ? undefined : writeFrame(res, chunk.wire)),
    });
    startSse(res, {});
    if (summary.error) sendEvent(res, errorBody(summary.error, req.id));
    else sendDone(res);
    res.end();
  });

  return router;
}
