import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import proto from '@temporalio/proto';
import type { Config } from './config.js';

/**
 * Worker Versioning with Worker Deployments (Temporal Server ≥ 1.29.1, SDK 1.24): every worker of
 * this system polls as one Version — `WORKER_DEPLOYMENT_NAME` + `WORKER_BUILD_ID` — and the server
 * sends each run to the deployment's Current Version. Every workflow type is Auto-Upgrade: a run
 * moves to the new Current Version on its next workflow task, and a change to workflow code is made
 * replay-safe with `patched()` (README "Changing a workflow" says why not Pinned). Ops see each
 * run's version in the `TemporalWorkerDeploymentVersion` search attribute, `/v1/ops/workflows` and
 * `npm run ops -- deployment`.
 */

// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
const VersionStatus = proto.temporal.api.enums.v1.WorkerDeploymentVersionStatus;
const DrainageStatus = proto.temporal.api.enums.v1.VersionDrainageStatus;
const GrpcStatus = { NOT_FOUND: 5, FAILED_PRECONDITION: 9 } as const;

export interface DeploymentVersion {
  deploymentName: string;
  buildId: string;
}

/** `name:buildId`, the form of the `TemporalWorkerDeploymentVersion` search attribute. */
export const versionKey = (version: DeploymentVersion) => `${version.deploymentName}:${version.buildId}`;

export function deploymentVersionOf(config: Config): DeploymentVersion {
  return { deploymentName: config.WORKER_DEPLOYMENT_NAME, buildId: config.WORKER_BUILD_ID };
}

/** The Worker option that makes a worker poll as this build's version; undefined when versioning is off. */
export function workerDeploymentOptionsOf(config: Config): WorkerDeploymentOptions | undefined {
  if (!config.WORKER_VERSIONING) return undefined;
  return { useWorkerVersioning: true, version: deploymentVersionOf(config), defaultVersioningBehavior: 'AUTO_UPGRADE' };
}

export interface DeploymentVersionSummary {
  buildId: string;
  /** inactive, current, ramping, draining, drained */
  status: string;
  /** For a version that is no longer current: whether runs still use it (`draining`) or none do (`drained`). */
  drainage: string | null;
  createdAt: string | null;
}

export interface DeploymentDescription {
  deploymentName: string;
  currentBuildId: string | null;
  ramping: { buildId: string; percentage: number } | null;
  versions: DeploymentVersionSummary[];
}

/** `draining` / `drained`; null while a version has no drainage to speak of (current, ramping, never used). */
const drainageOf = (value: number | null | undefined) => {
  const name = enumName(DrainageStatus, value, 'VERSION_DRAINAGE_STATUS_');
  return name === 'unspecified' ? null : name;
};

const enumName = (names: Record<number, string>, value: number | null | undefined, prefix: string) =>
  value == null ? null : (names[value] ?? String(value)).replace(prefix, '').toLowerCase();

/** The deployment's routing and versions; null when no worker ever polled under that name. */
export async function describeDeployment(client: Client, deploymentName: string): Promise<DeploymentDescription | null> {
  try {
    const { workerDeploymentInfo: info } = await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace, deploymentName,
    });
    const routing = info?.routingConfig;
    const rampingBuildId = routing?.rampingDeploymentVersion?.buildId;
    return {
      deploymentName,
      currentBuildId: routing?.currentDeploymentVersion?.buildId || null,
      ramping: rampingBuildId ? { buildId: rampingBuildId, percentage: routing?.rampingVersionPercentage ?? 0 } : null,
      versions: (info?.versionSummaries ?? []).map((v) => ({
        buildId: v.deploymentVersion?.buildId ?? '',
        status: enumName(VersionStatus, v.status, 'WORKER_DEPLOYMENT_VERSION_STATUS_') ?? 'unspecified',
        drainage: drainageOf(v.drainageInfo?.status ?? v.drainageStatus),
        createdAt: v.createTime?.seconds != null ? new Date(Number(v.createTime.seconds) * 1000).toISOString() : null,
      })),
    };
  } catch (err) {
    if (grpcCode(err) === GrpcStatus.NOT_FOUND) return null;
    throw err;
  }
}

const grpcCode = (err: unknown) => (err as { code?: unknown } | null)?.code;

/** Until its workers' first polls reach the server, a version is unknown to it: those refusals are retried. */
const notYetPolled = (err: unknown) => grpcCode(err) === GrpcStatus.NOT_FOUND || grpcCode(err) === GrpcStatus.FAILED_PRECONDITION;

/**
 * Makes `version` the Current Version of its deployment: new runs start on it, and every Auto-Upgrade
 * run moves to it on its next workflow task. Retries while the version's workers are not yet known
 * to the server (up to `timeoutMs`). Refused by the server when the version does not poll every
 * task queue the current version polls (a worker left out of the deploy).
 */
export async function setCurrentVersion(
  client: Client, version: DeploymentVersion, options: { timeoutMs?: number; identity?: string } = {},
): Promise<{ previousBuildId: string | null }> {
  const response = await onceItPolls(options.timeoutMs, () => client.workflowService.setWorkerDeploymentCurrentVersion({
    namespace: client.options.namespace, deploymentName: version.deploymentName, buildId: version.buildId,
    identity: options.identity ?? 'steadfast',
  }));
  return { previousBuildId: response.previousDeploymentVersion?.buildId || null };
}

/** Sends `percentage` of new runs (and Auto-Upgrade runs' next tasks) to `version`; 0 with no build id stops the ramp. */
export async function setRampingVersion(
  client: Client, version: DeploymentVersion, percentage: number, options: { timeoutMs?: number; identity?: string } = {},
): Promise<void> {
  await onceItPolls(options.timeoutMs, () => client.workflowService.setWorkerDeploymentRampingVersion({
    namespace: client.options.namespace, deploymentName: version.deploymentName, buildId: version.buildId,
    percentage, identity: options.identity ?? 'steadfast',
  }));
}

/** Runs `request`, retrying while the version is not yet known to the server (up to `timeoutMs`, default 30 s). */
async function onceItPolls<T>(timeoutMs: number | undefined, request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + (timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await request();
    } catch (err) {
      if (!notYetPolled(err) || Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

export type PromoteResult = 'promoted' | 'already_current' | 'kept_current' | 'versioning_off' | 'never';

/**
 * What a starting worker does with its own version (WORKER_PROMOTE_ON_START: `always` by default, `first`
 * in production): call it once the workers poll.
 */
export async function promoteOnStart(client: Client, config: Config, timeoutMs = 60_000): Promise<{ result: PromoteResult; current: string | null }> {
  if (!config.WORKER_VERSIONING) return { result: 'versioning_off', current: null };
  const policy = config.WORKER_PROMOTE_ON_START ?? (config.NODE_ENV === 'production' ? 'first' : 'always');
  const version = deploymentVersionOf(config);
  const described = await describeDeployment(client, version.deploymentName);
  const current = described?.currentBuildId ?? null;
  if (policy === 'never') return { result: 'never', current };
  if (current === version.buildId) return { result: 'already_current', current };
  if (policy === 'first' && current !== null) return { result: 'kept_current', current };
  await setCurrentVersion(client, version, { timeoutMs, identity: `worker ${version.buildId}` });
  return { result: 'promoted', current: version.buildId };
}
