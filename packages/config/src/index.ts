// @flashcase/config: start-up configuration for FlashCase services, parsed once from the
// environment into a typed, frozen object. See each export's JSDoc for its edge cases.

export type { ConfigDescription } from './describe';
export { describeConfig } from './describe';
export type { ConfigIssue } from './errors';
export { ConfigError } from './errors';
export { loadConfig } from './load';
export { SERVICE_NODE_OPTIONS } from './node-options';
export type { AIProvider, Config, Environment, LogLevel, RedisFailureMode, ServiceName } from './types';
export type {
  BudgetJson,
  BudgetUseJson,
  DigestFiguresJson,
  DigestLineJson,
  NearBudgetJson,
  PerActiveUserJson,
  PricingCheckJson,
  PricingCheckWindowJson,
  RateLimitsJson,
  ReportUserJson,
  UsageCountersJson,
  UsageDigestJson,
  UsageJson,
  UsageSnapshotJson,
  UsageTimeseriesJson,
  UsageUsersJson,
  UserBudgetsJson,
  UserUsageJson,
} from './wire';
