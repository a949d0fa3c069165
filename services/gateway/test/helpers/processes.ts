// The shared child-process helper lives in @flashcase/testkit (alerting's tests use it too).
export { type ServiceProcess, startService } from '@flashcase/testkit';
