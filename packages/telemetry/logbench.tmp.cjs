// usage: node logbench.cjs  -- compares the OTLP log copy through the SDK vs direct, same process, alternating
const http = require('node:http');
const sink = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); });
sink.listen(0, '127.0.0.1', async () => {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${sink.address().port}`;
  const t = require('/work/main/packages/telemetry/dist/index.js');
  const tr = require('/work/main/packages/telemetry/dist/logging/otlp-transport.js');
  const orig0 = tr.useDirectLogPath; tr.useDirectLogPath = (s, n) => { if (s) globalThis.__proc = s; return orig0(s, n); };
  t.setupLogging({ environment: 'production', serviceName: 'bench', stream: new (require('node:stream').Writable)({ write(c, e, cb) { cb(); } }) });
  const tel = t.startTelemetry({ serviceName: 'bench', serviceVersion: '1', environment: 'test' });
  const log = t.getLogger('gateway.http');
  const rl = new t.RequestLogger(log);
  rl.logRequest({ method: 'POST', endpoint: '/api/v1/ai/chat', statusCode: 200, durationMs: 1.2, userId: 'u1' });
  // grab the processor the direct path uses: it is set now (first record learnt the resource)
  const N = 20000;
  const api = require('@opentelemetry/api');
  const tracer = api.trace.getTracer('x');
  const insp = require('node:inspector'); const ses = new insp.Session(); ses.connect();
  const post = (m, p) => new Promise((res, rej) => ses.post(m, p, (e, r) => e ? rej(e) : res(r)));
  async function allocBytes(fn) {
    await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    fn();
    const { profile } = await post('HeapProfiler.stopSampling');
    let total = 0; const by = new Map(); const walk = (n) => { total += n.selfSize; const k = n.callFrame.functionName + ' ' + n.callFrame.url.split('/').slice(-2).join('/') + ':' + (n.callFrame.lineNumber + 1); by.set(k, (by.get(k) || 0) + n.selfSize); (n.children || []).forEach(walk); }; walk(profile.head);
    if (process.env.TOP) console.log([...by].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => (v / N).toFixed(0).padStart(6) + ' ' + k).join('\n'));
    return total / N;
  }
  globalThis.__alloc = allocBytes;
  function run() {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const span = tracer.startSpan('s');
      api.context.with(api.trace.setSpan(api.context.active(), span), () => rl.logRequest({ method: 'POST', endpoint: '/api/v1/ai/chat', statusCode: 200, durationMs: 1.234, userId: 'user-42' }));
      span.end();
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  }
  const saved = tr.__proto__; // placeholder
  // find the processor via a record: useDirectLogPath has it, keep a handle by wrapping
  let sinkObj;
  const orig = tr.useDirectLogPath;
  // re-run startTelemetry's wiring: the module keeps `direct`; we toggle by swapping with undefined and back
  // capture current by calling emitDirect indirectly isn't possible: expose through env toggle instead
  const results = { sdk: [], direct: [] };
  for (let r = 0; r < 6; r++) {
    for (const mode of ['direct', 'sdk']) {
      if (mode === 'sdk') { globalThis.__keep = globalThis.__keep; }
      if (mode === 'sdk') orig0(undefined); else orig0(globalThis.__proc);
      await new Promise((r) => setTimeout(r, 50));
      results[mode].push(run());
    }
  }
  orig0(globalThis.__proc); const ad = await allocBytes(run); process.env.TOP=''; orig0(undefined); const as = await allocBytes(run);
  console.log('bytes/record direct', ad.toFixed(0), 'sdk', as.toFixed(0));
  const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  console.log('us/record sdk', med(results.sdk).toFixed(2), 'direct', med(results.direct).toFixed(2), JSON.stringify(results));
  await tel.shutdown(); sink.close(); process.exit(0);
});
