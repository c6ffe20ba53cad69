import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from './repo-root.js';

/** The version `go install` builds (the newest the Go toolchain can install as a module). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** The SDK version whose default dev-server build the download asks for (the pinned @temporalio/* version). */
const SDK_VERSION = '1.24.0';
const DOWNLOAD_HOST = 'temporal.download';

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | '.tools/bin' | 'download' | 'go install';

export interface TemporalCli {
  path: string;
  source: TemporalCliSource;
  /** What `temporal --version` printed (e.g. `1.5.1 (Server 1.29.1, UI 2.42.1)`), null when it printed nothing usable. */
  version: string | null;
}

/** What a download gives: the binary at `destPath`, or why not (a short reason, one line). */
export type DownloadResult = { ok: true } | { ok: false; reason: string };

export interface TemporalCliOptions {
  /** `TEMPORAL_CLI_PATH`: used as is; a missing file is an error, never a fallback. */
  cliPath?: string;
  /** The PATH to search (default: this process's). */
  pathEnv?: string;
  /** Where the project keeps its own binary (default: `.tools/bin` in the repository). */
  toolsBinDir?: string;
  /** Fetches the CLI to `destPath` (default: the SDK's own download from temporal.download). */
  download?: (destPath: string) => DownloadResult;
  /** Where Go may be besides PATH (default: /usr/local/go/bin/go). */
  goFallbacks?: string[];
  /** Progress lines (a download, a build). */
  log?: (msg: string) => void;
}

export class TemporalCliMissingError extends Error {
  override name = 'TemporalCliMissingError';
}

/** The one message when no way to get the CLI worked: every option, one line. */
export const TEMPORAL_CLI_FIXES = 'set TEMPORAL_CLI_PATH=/path/to/temporal, or install the Temporal CLI so `temporal` is on PATH '
  + '(https://docs.temporal.io/cli#install), or install Go (https://go.dev/dl; npm start then builds it into .tools/bin)';

/**
 * The Temporal CLI without fetching or building anything: `TEMPORAL_CLI_PATH` (a missing or
 * broken file throws), else `temporal` on PATH that runs, else `.tools/bin/temporal` that runs;
 * null when none (`npm start -- --check`, and the first steps of `resolveTemporalCli`).
 */
export function findTemporalCli(options: TemporalCliOptions = {}): TemporalCli | null {
  if (options.cliPath) {
    if (!existsSync(options.cliPath)) throw new TemporalCliMissingError(`TEMPORAL_CLI_PATH points to a missing file: ${options.cliPath}`);
    const version = cliVersion(options.cliPath);
    if (!version.ok) throw new TemporalCliMissingError(`TEMPORAL_CLI_PATH=${options.cliPath} does not run (\`--version\`: ${version.reason})`);
    return { path: options.cliPath, source: 'TEMPORAL_CLI_PATH', version: version.version };
  }
  for (const candidate of onPath('temporal', options.pathEnv ?? process.env.PATH ?? '')) {
    const version = cliVersion(candidate);
    if (version.ok) return { path: candidate, source: 'PATH', version: version.version };
  }
  const own = ownBinary(options);
  if (existsSync(own)) {
    const version = cliVersion(own);
    if (version.ok) return { path: own, source: '.tools/bin', version: version.version };
  }
  return null;
}

/** Go: on PATH, else where its installer puts it; null when absent. */
export function findGo(options: Pick<TemporalCliOptions, 'pathEnv' | 'goFallbacks'> = {}): string | null {
  const candidates = [...onPath('go', options.pathEnv ?? process.env.PATH ?? ''), ...(options.goFallbacks ?? ['/usr/local/go/bin/go'])];
  return candidates.find((candidate) => isExecutable(candidate)) ?? null;
}

/**
 * The Temporal CLI from wherever it is: `findTemporalCli`, then the SDK's own download of the
 * dev server into `.tools/bin` (fails fast where temporal.download is out of reach), then
 * `go install` into `.tools/bin` when Go is there. None: one error naming every fix.
 */
export function resolveTemporalCli(options: TemporalCliOptions = {}): TemporalCli {
  const found = findTemporalCli(options);
  if (found) return found;
  const log = options.log ?? (() => undefined);
  const dest = ownBinary(options);
  const inRepo = relative(REPO_ROOT, dest);
  const shown = inRepo && !inRepo.startsWith('..') && !isAbsolute(inRepo) ? inRepo : dest;
  const tried: string[] = [];

  log(`Downloading the Temporal CLI (the SDK's dev-server build) from ${DOWNLOAD_HOST} into ${shown}…`);
  const downloaded = (options.download ?? downloadTemporalCli)(dest);
  if (downloaded.ok) {
    const version = cliVersion(dest);
    if (version.ok) return { path: dest, source: 'download', version: version.version };
    tried.push(`the download did not run (${version.reason})`);
  } else {
    tried.push(`download from ${DOWNLOAD_HOST}: ${downloaded.reason}`);
  }
  log(`No Temporal CLI download (${tried.at(-1)}); trying the next way.`);

  const go = findGo(options);
  if (go) {
    log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} into ${shown} (first run only, a few minutes)…`);
    mkdirSync(dirname(dest), { recursive: true });
    const result = spawnSync(go, ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: dirname(dest) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const version = result.status === 0 ? cliVersion(dest) : null;
    if (version?.ok) return { path: dest, source: 'go install', version: version.version };
    tried.push(`go install failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
  } else {
    tried.push('no Go to build it');
  }
  throw new TemporalCliMissingError(`No Temporal CLI (not on PATH, not in ${shown}; ${tried.join('; ')}). Fix: ${TEMPORAL_CLI_FIXES}.`);
}

function ownBinary(options: TemporalCliOptions): string {
  return join(options.toolsBinDir ?? resolve(REPO_ROOT, '.tools/bin'), process.platform === 'win32' ? 'temporal.exe' : 'temporal');
}

function onPath(name: string, pathEnv: string): string[] {
  return pathEnv.split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, name)).filter(isExecutable);
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `<cli> --version`: `temporal version 1.5.1 (Server …)` → `1.5.1 (Server …)`. */
export function cliVersion(cli: string): { ok: true; version: string | null } | { ok: false; reason: string } {
  const result = spawnSync(cli, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) return { ok: false, reason: result.error.message };
  if (result.status !== 0) return { ok: false, reason: `exit ${result.status ?? result.signal}: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? ''}` };
  const line = result.stdout.trim().split('\n')[0] ?? '';
  return { ok: true, version: line.replace(/^temporal version\s+/i, '') || null };
}

/**
 * The SDK's own download (sdk-core's ephemeral server, `cached-download`): ask
 * https://temporal.download/cli/default for the build the TypeScript SDK of this version uses,
 * then fetch its archive and extract the binary. The SDK only downloads while starting a server,
 * so this does the same requests; a child process runs them so that the caller stays synchronous.
 * Where the host does not resolve or answer, it gives up within seconds.
 */
export function downloadTemporalCli(destPath: string, options: { infoUrl?: string; infoTimeoutMs?: number; archiveTimeoutMs?: number } = {}): DownloadResult {
  const { infoUrl = `https://${DOWNLOAD_HOST}/cli/default`, infoTimeoutMs = 5_000, archiveTimeoutMs = 180_000 } = options;
  const platform = ({ linux: 'linux', darwin: 'darwin', win32: 'windows' } as Record<string, string>)[process.platform];
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (!platform || !arch || platform === 'windows') return { ok: false, reason: `no download for ${process.platform}/${process.arch}` };
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', DOWNLOAD_SCRIPT,
    destPath, infoUrl, platform, arch, SDK_VERSION, String(infoTimeoutMs), String(archiveTimeoutMs)], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: infoTimeoutMs + archiveTimeoutMs + 30_000,
  });
  if (result.status === 0 && existsSync(destPath)) return { ok: true };
  const reason = (result.stderr || result.error?.message || `exit ${result.status ?? result.signal}`).trim().split('\n').at(-1) ?? 'failed';
  return { ok: false, reason };
}

/** Runs in a child `node`: argv = dest, info URL, platform, arch, sdk version, info timeout, archive timeout. */
const DOWNLOAD_SCRIPT = `
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const [dest, infoUrl, platform, arch, sdkVersion, infoMs, archiveMs] = process.argv.slice(1);
const why = (err) => err?.cause?.message || err?.cause?.code || err?.message || String(err);
try {
  const query = new URLSearchParams({ arch, platform, format: 'tar.gz', 'sdk-name': 'sdk-typescript', 'sdk-version': sdkVersion });
  const infoResponse = await fetch(infoUrl + '?' + query, { signal: AbortSignal.timeout(Number(infoMs)) });
  if (!infoResponse.ok) throw new Error('HTTP ' + infoResponse.status + ' from ' + infoUrl);
  const info = await infoResponse.json();
  if (typeof info.archiveUrl !== 'string' || typeof info.fileToExtract !== 'string') throw new Error('unexpected answer from ' + infoUrl);
  const archive = await fetch(info.archiveUrl, { signal: AbortSignal.timeout(Number(archiveMs)) });
  if (!archive.ok) throw new Error('HTTP ' + archive.status + ' from ' + info.archiveUrl);
  mkdirSync(dirname(dest), { recursive: true });
  const work = mkdtempSync(join(dirname(dest), '.download-'));
  try {
    const file = join(work, 'cli.tar.gz');
    writeFileSync(file, Buffer.from(await archive.arrayBuffer()));
    execFileSync('tar', ['-xzf', file, '-C', work, info.fileToExtract], { stdio: ['ignore', 'ignore', 'pipe'] });
    chmodSync(join(work, info.fileToExtract), 0o755);
    renameSync(join(work, info.fileToExtract), dest);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
} catch (err) {
  process.stderr.write(why(err) + '\\n');
  process.exit(1);
}
`;
