// `node services/alerting/dist/main.js`, configured by environment only. The service's code is
// required inside the callback, after the OpenTelemetry SDK started (see @flashcase/runtime).
import { bootstrap } from '@flashcase/runtime';

// `require`, not `import`: the service must load after the SDK started.
bootstrap('alerting', () => require('./start') as typeof import('./start'));
