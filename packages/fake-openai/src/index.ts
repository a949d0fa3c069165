export { type Behavior, DEFAULT_BEHAVIOR } from './behavior';
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
export {
  type BilledTokens,
  costInUsdTicks,
  DEFAULT_PRICES,
  type ModelPrice,
  type PriceTable,
  TICKS_PER_USD,
} from './pricing';
export { fakeSchemaValue, type SchemaSeed } from './schema-value';
export {
  type Billed,
  type ChatRequestBody,
  DEFAULT_MODELS,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type RecordedAnswer,
  type RecordedRequest,
  startFakeOpenAI,
} from './server';
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
