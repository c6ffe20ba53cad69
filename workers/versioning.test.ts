import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../platform/config.js';
import { describeDeployment, promoteOnStart, setCurrentVersion, workerDeploymentOptionsOf } from '../platform/worker-deployment.js';
import { workerConnectionOptions } from '../platform/temporal-connection.js';
import { auditLedger } from '../store/ledger/audit.js';
import { createAccount, startHarness, testConfig, type Call, type Harness } from '../test/harness.js';
import { spawnWorkerProcess } from '../test/worker-process.js';
import { createWorkers } from './registry.js';

/**
 * Worker Versioning on the real server: workers poll as a Worker Deployment Version, a version is
 * made current (by a starting worker or by ops), runs record the version they are on, and an
 * Auto-Upgrade run that has not finished moves to the new Current Version.
 */

let h: Harness;
let tenant: { id: string; call: Call };
let deployment: string;

beforeAll(async () => {
  // Versioned, under this file's own deployment name (testConfig gives every file one); the API answers at once.
  h = await startHarness({ worker: false, env: { WORKER_VERSIONING: 'true', WORKER_BUILD_ID: 'v1', API_WAIT_WINDOW_MS: '0' } });
  deployment = h.config.WORKER_DEPLOYMENT_NAME;
  tenant = await h.newTenant();
});
afterAll(async () => {
  if (tenant) expect((await auditLedger(h.pool, { tenantId: tenant.id })).problems).toEqual([]);
  await h?.close();
});

/** This file's wallet workers as build `buildId`; returns their stop. */
async function startVersion(buildId: string, overrides: Partial<Config> = {}) {
  const config: Config = { ...h.config, WORKER_BUILD_ID: buildId, ...overrides };
  const connection = await NativeConnection.connect(workerConnectionOptions(config));
  const { workers, close } = await createWorkers({
    config, connection, pool: h.pool, workflowBundlePath: inject('workflowBundlePath'),
    limits: { maxConcurrentActivityTaskExecutions: 20, maxConcurrentWorkflowTaskExecutions: 20, shutdownGraceTimeMs: 1_000 },
  }, ['wallet']);
  const running = Promise.all(workers.map((w) => w.run()));
  let stopped: Promise<void> | undefined;
  return {
    config,
    /** Drains and closes (once; later calls wait for the first). */
    stop() {
      stopped ??= (async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
        await close();
        await connection.close();
      })();
      return stopped;
    },
  };
}

const transferStatus = async (id: string) => (await tenant.call('GET', `/v1/transfers/${id}`)).body.status as string;
const runOf = async (workflowId: string) =>
  ((await h.admin('GET', `/v1/ops/workflows?type=p2pTransfer&limit=100`)).body.data as { workflow_id: string; worker_version: string | null }[])
    .find((r) => r.workflow_id === workflowId);

describe('worker versioning (Worker Deployments, Auto-Upgrade)', () => {
  it('off: no deployment options, nothing promoted', async () => {
    const off = testConfig();
    expect(off.WORKER_VERSIONING).toBe(false);
    expect(workerDeploymentOptionsOf(off)).toBeUndefined();
    expect(await promoteOnStart(h.temporal, off)).toEqual({ result: 'versioning_off', current: null });
    expect(workerDeploymentOptionsOf(h.config)).toEqual({
      useWorkerVersioning: true, version: { deploymentName: deployment, buildId: 'v1' }, defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
  });

  it('a run records its version; an unfinished run moves to the new Current Version; the old one drains', async () => {
    expect(await describeDeployment(h.temporal, deployment)).toBeNull();
    const v1 = await startVersion('v1');
    try {
      expect(await promoteOnStart(h.temporal, v1.config)).toEqual({ result: 'promoted', current: 'v1' });
      expect(await promoteOnStart(h.temporal, v1.config)).toEqual({ result: 'already_current', current: 'v1' });
      const payer = await createAccount(tenant.call, { fundMinor: 10_000 });
      const payee = await createAccount(tenant.call);
      const first = (await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount: 100, currency: 'USD' } })).body.id as string;
      await expect.poll(() => transferStatus(first), { timeout: 20_000 }).toBe('succeeded');
      await expect.poll(async () => (await runOf(`transfer-${first}`))?.worker_version, { timeout: 20_000 }).toBe(`${deployment}:v1`);
      const onV1 = (await h.admin('GET', `/v1/ops/workflows?worker_version=${deployment}:v1&limit=100`)).body.data as { workflow_id: string }[];
      expect(onV1.map((r) => r.workflow_id)).toContain(`transfer-${first}`);
      expect((await h.admin('GET', '/v1/ops/workflows?worker_version=v1')).body.error).toMatchObject({ code: 'parameter_invalid', param: 'worker_version' });

      // v1's workers leave; a transfer started now waits for the Current Version (still v1).
      await v1.stop();
      const second = (await tenant.call('POST', '/v1/transfers', { body: { from_account_id: payer, to_account_id: payee, amount: 200, currency: 'USD' } })).body.id as string;
      const v2 = await startVersion('v2', { WORKER_PROMOTE_ON_START: 'first' });
      try {
        // `first` (production's default) never takes over from a current version: the deploy decides.
        expect(await promoteOnStart(h.temporal, v2.config)).toEqual({ result: 'kept_current', current: 'v1' });
        expect(await transferStatus(second)).toBe('pending');
        expect(await setCurrentVersion(h.temporal, { deploymentName: deployment, buildId: 'v2' })).toEqual({ previousBuildId: 'v1' });
        await expect.poll(() => transferStatus(second), { timeout: 20_000 }).toBe('succeeded');
        await expect.poll(async () => (await runOf(`transfer-${second}`))?.worker_version, { timeout: 20_000 }).toBe(`${deployment}:v2`);
        const described = await describeDeployment(h.temporal, deployment);
        expect(described).toMatchObject({ deploymentName: deployment, currentBuildId: 'v2', ramping: null });
        expect(described!.versions.find((v) => v.buildId === 'v2')?.status).toBe('current');
        expect(['draining', 'drained']).toContain(described!.versions.find((v) => v.buildId === 'v1')?.status);
      } finally {
        await v2.stop();
      }
    } finally {
      await v1.stop();
    }
  });

  it('the worker process registers its version and makes it current (WORKER_PROMOTE_ON_START)', async () => {
    const worker = spawnWorkerProcess(h, { WORKER_BUILD_ID: 'v3', WORKER_PROMOTE_ON_START: 'always' });
    try {
      await worker.ready();
      await expect.poll(async () => (await describeDeployment(h.temporal, deployment))?.currentBuildId, { timeout: 30_000 }).toBe('v3');
      await expect.poll(() => worker.output(), { timeout: 10_000 }).toContain(`"version":"${deployment}:v3","result":"promoted"`);
    } finally {
      await worker.kill();
    }
  });
});
