// `GET /api/v1/ai/usage` as the contract (section 6) shapes it, typed once where ai-proxy builds it.

export type {
  PricingCheckWindowJson as PricingCheckWindow,
  UsageCountersJson as UsageCounters,
  UsageJson as Usage,
} from '@flashcase/config';

export const USAGE_PATH = '/api/v1/ai/usage';
