import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { logsFromProtobuf, tracesFromProtobuf } from './otlp-proto';
import { OtlpReceiver } from './otlp-receiver';

function exportMethod(path: string, decode: (body: Uint8Array) => unknown) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestDeserialize: (body: Buffer) => decode(body),
    requestSerialize: () => Buffer.alloc(0),
    // An empty Export*ServiceResponse: no partial success to report.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: () => ({}),
  };
}

const TRACE_SERVICE = {
  Export: exportMethod('/opentelemetry.proto.collector.trace.v1.TraceService/Export', tracesFromProtobuf),
} as unknown as ServiceDefinition;
const LOGS_SERVICE = {
  Export: exportMethod('/opentelemetry.proto.collector.logs.v1.LogsService/Export', logsFromProtobuf),
} as unknown as ServiceDefinition;

/**
 * A loopback OTLP/gRPC receiver (`@grpc/grpc-js`, plaintext): the collector's TraceService and
 * LogsService `Export` methods, decoding the protobuf requests into the same spans and log
 * records as {@link OtlpReceiver}.
 */
export class OtlpGrpcReceiver extends OtlpReceiver {
  private grpc: Server | undefined;

  /** Resolves to the endpoint, `http://127.0.0.1:<port>`. */
  override async start(): Promise<string> {
    const server = new Server();
    server.addService(TRACE_SERVICE, {
      Export: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        try {
          this.addTraces(call.request);
          this.encodings.push('traces:grpc');
          callback(null, {});
        } catch (err) {
          callback({ code: status.INVALID_ARGUMENT, details: String(err) });
        }
      },
    });
    server.addService(LOGS_SERVICE, {
      Export: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        try {
          this.addLogs(call.request);
          this.encodings.push('logs:grpc');
          callback(null, {});
        } catch (err) {
          callback({ code: status.INVALID_ARGUMENT, details: String(err) });
        }
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    this.grpc = server;
    return `http://127.0.0.1:${port}`;
  }

  override async stop(): Promise<void> {
    const server = this.grpc;
    if (!server) return;
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}
