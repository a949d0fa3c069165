export { LineCapture } from './capture';
export { inspectorUrl, type LiveHeap, liveHeap } from './inspector';
export { type PointView, testMeters } from './metrics';
export { OtlpGrpcReceiver } from './otlp-grpc-receiver';
export {
  type OtlpAttribute,
  type OtlpEncoding,
  OtlpReceiver,
  type ReceivedLog,
  type ReceivedSpan,
} from './otlp-receiver';
export { readUntil } from './poll';
export { freePort } from './ports';
export {
  type FakeProcess,
  RATE_LIMITS_OFF,
  type ServiceName,
  type ServiceProcess,
  type StartServiceOptions,
  serviceMain,
  startFakeProcess,
  startService,
} from './processes';
export { deleteKeys, listKeys, RedisCluster, RedisServer } from './redis';
