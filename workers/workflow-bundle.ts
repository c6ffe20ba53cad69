import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type BundleOptions, type Logger } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './domain-worker.js';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../platform/telemetry/temporal.js';

/** The workflow bundle's name in the build's output folder (dist/). */
export const BUILT_BUNDLE_FILE = 'workflow-bundle.js';

/**
 * The workflow bundle `npm run build` leaves beside the compiled code (`dist/workflow-bundle.js`,
 * scripts/build/main.ts). Relative to this module, so only the compiled worker finds it: from the
 * sources (tsx, vitest) it names a file that does not exist, and a stale build is never picked up.
 */
export const BUILT_BUNDLE_PATH = fileURLToPath(new URL(`../${BUILT_BUNDLE_FILE}`, import.meta.url));

/**
 * THE options every workflow bundle of this code is made with — the build's, the worker's when it
 * has no built bundle, the tests' (test/global-setup.ts) — so all of them hold the same code: the
 * workflows and any workflow interceptor modules. A module path added here is a sibling of this
 * module with its own extension (`.ts` from the sources, `.js` from dist/), as `WORKFLOWS_PATH` is.
 */
export function workflowBundleOptions(logger?: Logger): BundleOptions {
  // The OpenTelemetry workflow interceptors (a package's module, resolved where it is installed).
  return { workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, ...(logger ? { logger } : {}) };
}

/**
 * The bundle the worker runs: `configured` (WORKFLOW_BUNDLE_PATH) when set, else the built one
 * when this is the compiled worker, else the workflows bundled now into a temporary file (once for
 * every workflow worker of the process, not once per queue).
 */
export async function workflowBundlePath(configured: string | undefined, logger?: Logger): Promise<{ path: string; source: 'configured' | 'built' | 'bundled' }> {
  if (configured) return { path: configured, source: 'configured' };
  if (existsSync(BUILT_BUNDLE_PATH)) return { path: BUILT_BUNDLE_PATH, source: 'built' };
  const { code } = await bundleWorkflowCode(workflowBundleOptions(logger));
  const path = join(mkdtempSync(join(tmpdir(), 'steadfast-worker-')), 'workflow-bundle.js');
  writeFileSync(path, code);
  return { path, source: 'bundled' };
}
