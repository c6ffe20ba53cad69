import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerDeploymentOptions, type WorkerOptions } from '@temporalio/worker';
import { tracingWorkerInterceptors, WORKFLOW_INTERCEPTOR_MODULES, workflowSpanSinks } from '../platform/telemetry/temporal.js';
import type { Tracing } from '../platform/telemetry/tracing.js';

/** The workflows' entry, in the form this module runs as: `.ts` from the sources, `.js` from dist/. */
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export interface WorkerLimits {
  maxConcurrentActivityTaskExecutions: number;
  maxConcurrentWorkflowTaskExecutions: number;
  shutdownGraceTimeMs: number;
}

/** A prebuilt bundle (tests bundle once per run), else the workflows are bundled at start. */
export function workflowSource(bundlePath: string | undefined): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH };
}


export interface DomainWorkerOptions extends WorkerLimits {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  workflowBundlePath?: string;
  activities: object;
  /** The payload codec (platform/payload-codec.ts `dataConverterOf`): every payload encrypted in Temporal. */
  dataConverter: DataConverter;
  /** This build's Worker Deployment Version (platform/worker-deployment.ts); absent: unversioned. */
  workerDeploymentOptions?: WorkerDeploymentOptions | undefined;
  /** The process's tracing (platform/telemetry/tracing.ts); absent or off: workflow spans are dropped. */
  tracing?: Tracing | undefined;
}

/** A worker for one domain's task queue: the shared workflow bundle and that domain's activities. */
export function createDomainWorker(options: DomainWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    dataConverter: options.dataConverter,
    ...(options.workerDeploymentOptions ? { workerDeploymentOptions: options.workerDeploymentOptions } : {}),
    ...workflowSource(options.workflowBundlePath),
    // Traces (platform/telemetry/temporal.ts): activity spans here; the workflow interceptors are in
    // the bundle (workers/workflow-bundle.ts) and hand their spans to the sink.
    interceptors: { ...tracingWorkerInterceptors(), ...(options.workflowBundlePath ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }) },
    sinks: workflowSpanSinks(options.tracing),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions,
    shutdownGraceTime: options.shutdownGraceTimeMs,
  });
}
