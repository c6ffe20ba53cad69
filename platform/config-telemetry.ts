import { z } from 'zod';

/**
 * Traces (issue #16): what this project decides. Spread into the one schema in platform/config.ts.
 * The names are OpenTelemetry's standard ones; the SDK reads the rest of them itself (the OTLP
 * exporter's OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT / _COMPRESSION, the sampler's
 * OTEL_TRACES_SAMPLER / _ARG, the batch processor's OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES), so
 * they are documented in the README, not parsed here.
 */
export const telemetryEnv = {
  /**
   * Where traces go (an OTLP/HTTP collector's base URL, e.g. `http://127.0.0.1:4318`; spans are
   * POSTed to `<url>/v1/traces`). Unset, with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset too: no
   * tracing at all (platform/telemetry/tracing.ts installs nothing).
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** The traces endpoint itself (the full URL, `/v1/traces` included); wins over the base URL. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  /** `service.name` of this process's spans; unset: `steadfast-api` or `steadfast-worker`. */
  OTEL_SERVICE_NAME: z.string().min(1).max(200).optional(),
};
