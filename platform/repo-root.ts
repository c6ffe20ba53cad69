import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder that holds package.json above this module: the repository in a checkout, `/app` in
 * the image. The same from the sources (`platform/`) and from the compiled code (`dist/platform/`),
 * so what is read at run time beside the code — `schema/`, package.json, `.data/`, `.tools/` — is
 * found from either.
 */
export const REPO_ROOT = packageRootAbove(dirname(fileURLToPath(import.meta.url)));

function packageRootAbove(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${start}`);
  }
}
