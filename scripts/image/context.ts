import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type dockerignore from '@balena/dockerignore';

// CommonJS (`module.exports = factory`) typed as an ES default export: required as what it is.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as typeof dockerignore.default;

/**
 * The build context `docker build .` would send from a fresh clone of this working tree: the
 * repository's files as they are now (tracked, and new ones git does not ignore), less what
 * `.dockerignore` excludes — read with @balena/dockerignore, a port of Docker's own matcher.
 * Paths relative to `root`, sorted.
 */
export function buildContext(root: string): string[] {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  const files = [...new Set(listed.stdout.split('\0').filter(Boolean))]
    // A tracked file deleted in the working tree is not in the context.
    .filter((path) => existsSync(join(root, path)) && statSync(join(root, path)).isFile());
  const rulesPath = join(root, '.dockerignore');
  const rules = existsSync(rulesPath) ? readFileSync(rulesPath, 'utf8') : '';
  return ignore().add(rules).filter(files).sort();
}
