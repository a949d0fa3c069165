import type winston from 'winston';

/** What `setupLogging` configured, read by the formats and the logger on every record. */
export interface State {
  sampleRate: number;
  keepAIContent: boolean;
  callsite: boolean;
  serviceName: string | undefined;
  /** Where lines go and how they look, as `setupLogging` last set them. */
  stream: NodeJS.WritableStream;
  lineFormat: winston.Logform.Format | undefined;
  otlp: boolean;
  /** Records through winston's own stream pipeline and stock transports (`useWinstonPipeline`). */
  winstonPipeline: boolean;
}

export const state: State = {
  sampleRate: 1,
  keepAIContent: false,
  callsite: false,
  serviceName: undefined,
  stream: process.stdout,
  lineFormat: undefined,
  otlp: true,
  winstonPipeline: false,
};
