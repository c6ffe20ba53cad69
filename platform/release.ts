import { readFileSync } from 'node:fs';

/**
 * The release of this code: package.json's `version`. It is the default Worker Deployment build id
 * (WORKER_BUILD_ID) and names the folder of the histories recorded with it
 * (`workflows/histories/<release>/`). Bump it for every release that changes workflow code.
 */
export const RELEASE: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
