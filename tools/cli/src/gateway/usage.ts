// `GET /api/v1/ai/usage` as the contract (section 6) shapes it: the fields the tools read.

export interface UsageCounters {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  requests: number;
  estimated_cost_usd: number;
}

export interface Usage {
  usage: {
    total_prompt_tokens: number;
    total_completion_tokens: number;
    total_tokens: number;
    total_requests: number;
  };
  alert_threshold: number;
  alert_triggered: boolean;
  estimated_cost_usd: number;
  last_hour: UsageCounters;
  by_operation: Record<string, UsageCounters>;
  by_model: Record<string, UsageCounters>;
  projection: { hourly_usd: number; daily_usd: number; monthly_usd: number };
  since: string | null;
}

export const USAGE_PATH = '/api/v1/ai/usage';
