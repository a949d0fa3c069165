export { bootstrap, type ServiceContext, type ServiceModule } from './bootstrap';
export type { AlertStoreHandle, CountersStoreHandle } from './stores';
export { type MarginShare, streamEndDelayMs } from './stream-end';
