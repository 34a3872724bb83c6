import type { Telemetry } from 'bullmq';
import type { PipelineConfig } from '../config.ts';

/**
 * OpenTelemetry tracing of BullMQ jobs (bullmq-otel): a span when a shard is added, linked to the
 * span of the worker that processes it, so one trace follows a shard from submit to its output.
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then, and only then, the OpenTelemetry SDK is
 * imported (it is large and patches nothing we need otherwise) and started with an OTLP/HTTP
 * (protobuf) trace exporter. Pass `queueTelemetry(tracing)` into every Queue and Worker's options.
 */
export interface Tracing {
  /** Give this to BullMQ as `telemetry` (see queueTelemetry). */
  readonly telemetry: Telemetry;
  /** Flushes the spans still buffered and stops the SDK; call it on the way out. */
  shutdown(): Promise<void>;
}

/** Tracer name in every span BullMQ makes; the service name comes from OTEL_SERVICE_NAME or `service`. */
export const TRACER_NAME = 'resnet-batch';

/**
 * Starts tracing when the configuration names a collector; resolves to undefined (having loaded
 * nothing) when it does not. `service` becomes service.name unless OTEL_SERVICE_NAME is set.
 */
export async function startTracing(
  config: Pick<PipelineConfig, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>,
  service: string,
): Promise<Tracing | undefined> {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }, { BullMQOtel }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
    import('bullmq-otel'),
  ]);
  // The SDK's own env handling would append /v1/traces to the same variable; saying it here keeps
  // the configuration module the one place that validated it.
  const url = `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  const sdk = new NodeSDK({
    serviceName: config.OTEL_SERVICE_NAME ?? service,
    traceExporter: new OTLPTraceExporter({ url }),
    instrumentations: [],
  });
  sdk.start();
  return {
    telemetry: new BullMQOtel({ tracerName: TRACER_NAME }),
    // An unreachable collector at exit loses the last spans; it must not fail the process's exit.
    shutdown: () => sdk.shutdown().catch(() => undefined),
  };
}

/** The `telemetry` option for a Queue, Worker or FlowProducer: empty when tracing is off. */
export function queueTelemetry(tracing: Tracing | undefined): { telemetry?: Telemetry } {
  return tracing ? { telemetry: tracing.telemetry } : {};
}
