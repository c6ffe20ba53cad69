import { fileURLToPath } from 'node:url';

/**
 * THE command line of one of `npm start`'s children — the one place it is made: `entry` (e.g.
 * `api/main`) run by this same node, in the form this supervisor runs as. Compiled, as `npm start`
 * runs it after its build: `node --enable-source-maps dist/api/main.js`, the image's command too
 * (Dockerfile). From the sources (`tsx scripts/start.ts`): the sources, through tsx.
 *
 * @example
 * spawn(...dieWithParent(...childArgv('workers/main')));
 */
export function childArgv(entry: string): [string, ...string[]] {
  const compiled = import.meta.url.endsWith('.js');
  const path = fileURLToPath(new URL(`../../${entry}.${compiled ? 'js' : 'ts'}`, import.meta.url));
  return compiled ? [process.execPath, '--enable-source-maps', path] : [process.execPath, '--import', 'tsx', path];
}
