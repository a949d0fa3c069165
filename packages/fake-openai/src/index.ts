export { type Behavior, DEFAULT_BEHAVIOR } from './behavior';
export type { ChatRequestBody } from './chat-request';
export {
  exposesReasoningContent,
  fakeToolArguments,
  reasoningPieces,
  schemaSeed,
  TOOL_CALL_TOKENS,
  toolCallTokens,
} from './choices';
export {
  type ChatMessageLike,
  countPromptTokens,
  digest,
  echoedText,
  type FakeCompletion,
  type FakeCompletionOptions,
  fakeCompletion,
  fakeReasoningTokens,
  isReasoningModel,
  messageText,
  TOKENS_PER_MESSAGE,
} from './completion';
export { DEFAULT_MODELS } from './models';
export {
  type BilledTokens,
  costInUsdTicks,
  DEFAULT_PRICES,
  type ModelPrice,
  type PriceTable,
  TICKS_PER_USD,
} from './pricing';
export type { Billed, RecordedAnswer, RecordedRequest } from './recording';
export { fakeSchemaValue, type SchemaSeed } from './schema-value';
export { type FakeOpenAI, type FakeOpenAIOptions, startFakeOpenAI } from './server';
export {
  type CompletionTokensDetails,
  fakeSourcesUsed,
  fakeUsage,
  type OpenAIUsage,
  type UsageDialect,
  type UsageFigures,
  type XaiUsage,
} from './usage';
export { type OpenAIErrorBody, SYSTEM_FINGERPRINT } from './wire';
