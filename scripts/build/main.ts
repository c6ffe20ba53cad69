import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode, type BundleOptions } from '@temporalio/worker';
import { REPO_ROOT } from '../../platform/repo-root.js';
import { BUILT_BUNDLE_FILE, workflowBundleOptions } from '../../workers/workflow-bundle.js';

/**
 * `npm run build`: the TypeScript compiled to dist/ (tsconfig.build.json, incremental), then the
 * workflow code bundled into dist/workflow-bundle.js, which the compiled worker runs (no webpack at
 * its start). The bundle is made again only when a file webpack read for it changed (their hashes
 * are kept beside it), or the bundle options or the SDK did.
 *
 * `--dev` (what `npm start` runs first): the compiler is skipped while dist/ is newer than every
 * source, and code with type errors still runs — as it did under tsx — after a warning
 * (`npm run typecheck` shows them). Without it a type error fails the build.
 */
const TSCONFIG = join(REPO_ROOT, 'tsconfig.build.json');
const require = createRequire(import.meta.url);

interface BuildConfig {
  outDir: string;
  include: string[];
  tsBuildInfoFile: string;
}

function buildConfig(): BuildConfig {
  const own = JSON.parse(readFileSync(TSCONFIG, 'utf8')) as { include: string[]; compilerOptions: { outDir?: string; tsBuildInfoFile: string } };
  const base = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
  return {
    outDir: resolve(REPO_ROOT, own.compilerOptions.outDir ?? base.compilerOptions.outDir),
    include: own.include,
    tsBuildInfoFile: resolve(REPO_ROOT, own.compilerOptions.tsBuildInfoFile),
  };
}

/** The newest modification time among the compiler's inputs (sources of the included folders, the tsconfig files). */
function newestSourceMs(config: BuildConfig): number {
  let newest = Math.max(statSync(TSCONFIG).mtimeMs, statSync(join(REPO_ROOT, 'tsconfig.json')).mtimeMs);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const folder of config.include) walk(join(REPO_ROOT, folder));
  return newest;
}

/** Runs tsc; false when it emitted despite type errors (its exit status 2) and `tolerateTypeErrors`. */
function compile(tolerateTypeErrors: boolean): boolean {
  const tsc = require.resolve('typescript/bin/tsc');
  const { status, error } = spawnSync(process.execPath, [tsc, '-p', TSCONFIG], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (error) throw error;
  if (status === 0) return true;
  // 2: diagnostics present, outputs generated; 1: outputs skipped.
  if (status === 2 && tolerateTypeErrors) return false;
  throw new Error(`tsc -p tsconfig.build.json failed (exit ${status})`);
}

interface BundleInputs {
  /** What else decides the bundle: the options (paths relative to the repository) and the SDK's version. */
  key: string;
  /** Every file webpack read, relative to the repository, with its sha256. */
  files: [string, string][];
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function bundleKey(options: BundleOptions): string {
  const sdk = (JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string }).version;
  const paths = JSON.stringify(options, (name, value: unknown) => (name === 'logger' || typeof value === 'function' ? undefined
    : typeof value === 'string' && value.startsWith(REPO_ROOT) ? relative(REPO_ROOT, value) : value));
  return `${sdk} ${paths}`;
}

function upToDate(bundlePath: string, inputsPath: string, key: string): boolean {
  if (!existsSync(bundlePath) || !existsSync(inputsPath)) return false;
  const inputs = JSON.parse(readFileSync(inputsPath, 'utf8')) as BundleInputs;
  return inputs.key === key && inputs.files.every(([file, hash]) => {
    const path = join(REPO_ROOT, file);
    return existsSync(path) && sha256(path) === hash;
  });
}

/** The workflow bundle into `outDir`, unless the one there was made from the same files and options. */
async function bundle(outDir: string): Promise<'bundled' | 'up to date'> {
  const bundlePath = join(outDir, BUILT_BUNDLE_FILE);
  const inputsPath = `${bundlePath}.inputs.json`;
  const options = workflowBundleOptions(quietLogger);
  const key = bundleKey(options);
  if (upToDate(bundlePath, inputsPath, key)) return 'up to date';
  let read: string[] = [];
  const hook = options.webpackConfigHook;
  const { code } = await bundleWorkflowCode({
    ...options,
    webpackConfigHook: (webpackConfig) => {
      const config = hook ? hook(webpackConfig) : webpackConfig;
      const recordInputs = {
        apply(compiler: { hooks: { done: { tap(name: string, fn: (stats: { compilation: { fileDependencies: Iterable<string> } }) => void): void } } }) {
          compiler.hooks.done.tap('steadfast-bundle-inputs', (stats) => {
            read = [...stats.compilation.fileDependencies];
          });
        },
      };
      return { ...config, plugins: [...(config.plugins ?? []), recordInputs] };
    },
  });
  // The SDK's generated entry point is in memory only: not a file to watch.
  const files = read.filter((path) => existsSync(path) && statSync(path).isFile()).sort()
    .map((path): [string, string] => [relative(REPO_ROOT, path), sha256(path)]);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(bundlePath, code);
  writeFileSync(inputsPath, `${JSON.stringify({ key, files } satisfies BundleInputs)}\n`);
  return 'bundled';
}

const quietLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (message: string) => console.warn(message), error: (message: string) => console.error(message),
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dev: { type: 'boolean', default: false } } });
  const config = buildConfig();
  const startedMs = Date.now();
  const fresh = values.dev && existsSync(config.tsBuildInfoFile) && statSync(config.tsBuildInfoFile).mtimeMs >= newestSourceMs(config);
  if (fresh) {
    console.log('[build] dist/ is newer than every source: not compiled');
  } else if (compile(values.dev)) {
    console.log(`[build] compiled to ${relative(REPO_ROOT, config.outDir)}/ in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  } else {
    console.warn('[build] type errors (above): running the emitted code anyway (npm start only; npm run build fails on them)');
  }
  const bundledMs = Date.now();
  const result = await bundle(config.outDir);
  console.log(`[build] workflow bundle ${relative(REPO_ROOT, join(config.outDir, BUILT_BUNDLE_FILE))}: ${result}${result === 'bundled' ? ` in ${((Date.now() - bundledMs) / 1000).toFixed(1)} s` : ''}`);
}

main().catch((err: unknown) => {
  console.error(`[build] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
