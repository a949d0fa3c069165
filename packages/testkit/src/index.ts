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
  RATE_LIMITS_OFF,
  type ServiceName,
  type ServiceProcess,
  type StartServiceOptions,
  serviceMain,
  startService,
} from './processes';
export { deleteKeys, listKeys, RedisCluster, RedisServer } from './redis';
