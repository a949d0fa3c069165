export { LineCapture } from './capture';
export { type FullGc, fullGcs, type LiveHeapTrend, liveHeapTrend } from './gc-trace';
export { type PointView, testMeters } from './metrics';
export { type OtlpAttribute, OtlpReceiver, type ReceivedLog, type ReceivedSpan } from './otlp-receiver';
export { readUntil } from './poll';
export { freePort } from './ports';
export {
  type ServiceName,
  type ServiceProcess,
  type StartServiceOptions,
  serviceMain,
  startService,
} from './processes';
export { deleteKeys, listKeys, RedisCluster, RedisServer } from './redis';
