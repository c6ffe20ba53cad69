import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './repo-root.js';

/**
 * The release of this code: package.json's `version`. It is the default Worker Deployment build id
 * (WORKER_BUILD_ID) and names the folder of the histories recorded with it
 * (`workflows/histories/<release>/`). Bump it for every release that changes workflow code.
 */
export const RELEASE: string = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
