import { SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../src/targets/ids.ts';
import { type StackSettings, serviceEnvironment } from '../../src/targets/stack.ts';

const settings: StackSettings = {
  redisUrl: 'redis://127.0.0.1:6379',
  keyPrefix: 'flashcase-bench:1:',
  sinkUrl: 'http://127.0.0.1:4318',
  internalToken: 'internal',
  jwtSecret: 'secret',
};

describe('service environment of a c/d stack', () => {
  it('runs the plain stack in production with limits off, shipping OTLP http/json to the sink', () => {
    const env = serviceEnvironment(settings, parseTarget('d').stack.env);
    expect(env).toMatchObject({
      NODE_OPTIONS: SERVICE_NODE_OPTIONS,
      ENVIRONMENT: 'production',
      REDIS_KEY_PREFIX: 'flashcase-bench:1:',
      RATE_LIMIT_AI_PER_MINUTE: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    expect(env.FLASHCASE_OTEL_STOCK).toBeUndefined();
  });

  it('lays a variant over the base: the proto variant replaces the protocol, stock-all keeps json', () => {
    const proto = serviceEnvironment(settings, parseTarget('d-proto').stack.env);
    expect(proto.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('http/protobuf');
    expect(proto.FLASHCASE_OTEL_STOCK).toBeUndefined();
    const all = serviceEnvironment(settings, parseTarget('d-stock-all').stack.env);
    expect(all).toMatchObject({ FLASHCASE_OTEL_STOCK: 'http,logs', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  });

  it('lets a variant clear a base value with an empty one (V8 heap sizing)', () => {
    expect(serviceEnvironment(settings, parseTarget('c-v8-heap').stack.env).NODE_OPTIONS).toBe('');
    expect(serviceEnvironment(settings, parseTarget('c-limits').stack.env).RATE_LIMIT_AI_PER_HOUR).toBe('1000000000');
  });
});
