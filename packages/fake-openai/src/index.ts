export { type Behavior, DEFAULT_BEHAVIOR } from './behavior';
export {
  type ChatMessageLike,
  countPromptTokens,
  digest,
  type FakeCompletion,
  type FakeCompletionOptions,
  fakeCompletion,
  messageText,
  TOKENS_PER_MESSAGE,
} from './completion';
export {
  DEFAULT_MODELS,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type RecordedRequest,
  startFakeOpenAI,
} from './server';
export { type OpenAIErrorBody, SYSTEM_FINGERPRINT } from './wire';
