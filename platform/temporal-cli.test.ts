import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from './temporal-dev-server.js';
import { downloadTemporalCli, findTemporalCli, resolveTemporalCli, TemporalCliMissingError, type DownloadResult } from './temporal-cli.js';

/**
 * Where the Temporal CLI comes from, in order, on fake PATH directories and fake executables
 * (shell scripts printing a version); the download is injected, or served from a local HTTP server.
 */

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'temporal-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function script(path: string, body: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const fakeCli = (path: string, version: string) => script(path, `echo "temporal version ${version} (Server 1.29.1, UI 2.42.1)"`);
const noDownload = (): DownloadResult => ({ ok: false, reason: 'getaddrinfo ENOTFOUND temporal.download' });

describe('findTemporalCli / resolveTemporalCli', () => {
  it('TEMPORAL_CLI_PATH first; a missing file is an error, not a fallback to PATH', () => {
    const onPath = join(dir, 'path');
    fakeCli(join(onPath, 'temporal'), '1.4.0');
    const explicit = fakeCli(join(dir, 'mine/temporal'), '1.5.1');
    expect(findTemporalCli({ cliPath: explicit, pathEnv: onPath })).toEqual({ path: explicit, source: 'TEMPORAL_CLI_PATH', version: '1.5.1 (Server 1.29.1, UI 2.42.1)' });
    expect(() => resolveTemporalCli({ cliPath: join(dir, 'nope/temporal'), pathEnv: onPath }))
      .toThrow(new TemporalCliMissingError(`TEMPORAL_CLI_PATH points to a missing file: ${join(dir, 'nope/temporal')}`));
  });

  it('TEMPORAL_CLI_PATH that does not run is an error naming it', () => {
    const broken = script(join(dir, 'broken/temporal'), 'echo "cannot execute binary file" >&2; exit 126');
    expect(() => findTemporalCli({ cliPath: broken })).toThrow(/TEMPORAL_CLI_PATH=.*broken\/temporal does not run .*exit 126: cannot execute binary file/);
  });

  it('then `temporal` on PATH that runs (one that fails --version is skipped), before .tools/bin', () => {
    const bad = join(dir, 'bad');
    script(join(bad, 'temporal'), 'exit 1');
    const good = join(dir, 'good');
    fakeCli(join(good, 'temporal'), '1.3.0');
    const tools = join(dir, 'tools');
    fakeCli(join(tools, 'temporal'), '0.0.0-DEV');
    expect(findTemporalCli({ pathEnv: [bad, good].join(':'), toolsBinDir: tools }))
      .toMatchObject({ path: join(good, 'temporal'), source: 'PATH', version: '1.3.0 (Server 1.29.1, UI 2.42.1)' });
    expect(findTemporalCli({ pathEnv: bad, toolsBinDir: tools })).toMatchObject({ path: join(tools, 'temporal'), source: '.tools/bin' });
  });

  it('then the download into .tools/bin, without trying Go', () => {
    const tools = join(dir, 'tools');
    const goCalls = join(dir, 'go-calls');
    const goDir = join(dir, 'go');
    script(join(goDir, 'go'), `touch ${goCalls}`);
    const lines: string[] = [];
    const found = resolveTemporalCli({
      pathEnv: goDir, toolsBinDir: tools, goFallbacks: [], log: (line) => lines.push(line),
      download: (dest) => {
        fakeCli(dest, '1.4.1');
        return { ok: true };
      },
    });
    expect(found).toEqual({ path: join(tools, 'temporal'), source: 'download', version: '1.4.1 (Server 1.29.1, UI 2.42.1)' });
    expect(lines).toEqual([expect.stringMatching(/^Downloading the Temporal CLI .* from temporal\.download into .*tools\/temporal…$/)]);
    expect(existsSync(goCalls)).toBe(false);
  });

  it('then `go install` into .tools/bin when the download fails, with a progress line for each step', () => {
    const tools = join(dir, 'tools');
    const goDir = join(dir, 'go');
    // A fake Go: checks what it is asked, and "builds" into GOBIN.
    script(join(goDir, 'go'), [
      '[ "$1 $2" = "install github.com/temporalio/cli/cmd/temporal@v1.5.1" ] || exit 2',
      'printf \'#!/bin/sh\\necho "temporal version 1.5.1"\\n\' > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"',
    ].join('\n'));
    mkdirSync(tools, { recursive: true });
    const lines: string[] = [];
    const found = resolveTemporalCli({ pathEnv: '', goFallbacks: [join(goDir, 'go')], toolsBinDir: tools, download: noDownload, log: (line) => lines.push(line) });
    expect(found).toEqual({ path: join(tools, 'temporal'), source: 'go install', version: '1.5.1' });
    expect(lines).toEqual([
      expect.stringMatching(/^Downloading the Temporal CLI/),
      expect.stringMatching(/^No Temporal CLI download \(download from temporal\.download: getaddrinfo ENOTFOUND temporal\.download\); trying the next way\.$/),
      expect.stringMatching(new RegExp(`^Building the Temporal CLI v1\\.5\\.1 with ${join(goDir, 'go')} into .*tools/temporal \\(first run only, a few minutes\\)…$`)),
    ]);
  });

  it('none works: one error naming every option', () => {
    const failed = () => resolveTemporalCli({ pathEnv: join(dir, 'empty'), goFallbacks: [], toolsBinDir: join(dir, 'tools'), download: noDownload });
    expect(failed).toThrow(TemporalCliMissingError);
    expect(failed).toThrow(/^No Temporal CLI \(not on PATH, not in .*tools\/temporal; download from temporal\.download: getaddrinfo ENOTFOUND temporal\.download; no Go to build it\)\. Fix: set TEMPORAL_CLI_PATH=\/path\/to\/temporal, or install the Temporal CLI so `temporal` is on PATH .*, or install Go .*$/);
  });
});

describe('downloadTemporalCli (the SDK\'s download protocol)', () => {
  let server: ChildProcess | null = null;
  afterEach(() => {
    server?.kill();
    server = null;
  });

  /** A stand-in for temporal.download in its own process (the download blocks this one): the info answer, then the archive. */
  async function fakeDownloadHost(archive: string): Promise<string> {
    server = spawn(process.execPath, ['-e', `
      const http = require('node:http'); const fs = require('node:fs');
      const s = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        if (url.pathname === '/cli/default') {
          const ok = url.searchParams.get('sdk-name') === 'sdk-typescript' && url.searchParams.get('format') === 'tar.gz' && url.searchParams.get('platform') && url.searchParams.get('arch');
          res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ archiveUrl: 'http://127.0.0.1:' + s.address().port + '/cli.tar.gz', fileToExtract: 'temporal' }));
        } else if (url.pathname === '/cli.tar.gz') { res.end(fs.readFileSync(${JSON.stringify(archive)})); }
        else { res.writeHead(404); res.end(); }
      });
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = (await once(server.stdout!, 'data')) as [Buffer];
    return `http://127.0.0.1:${chunk.toString().trim()}/cli/default`;
  }

  it('asks for the SDK\'s build, fetches the archive and extracts the binary to its place', async () => {
    const staging = join(dir, 'staging');
    fakeCli(join(staging, 'temporal'), '1.4.1');
    const archive = join(dir, 'cli.tar.gz');
    expect(spawnSync('tar', ['-czf', archive, '-C', staging, 'temporal']).status).toBe(0);
    const infoUrl = await fakeDownloadHost(archive);
    const dest = join(dir, 'tools/bin/temporal');
    expect(downloadTemporalCli(dest, { infoUrl })).toEqual({ ok: true });
    expect(spawnSync(dest, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^temporal version 1\.4\.1/);
  });

  it('gives up within seconds when the host does not answer', async () => {
    const closed = await freePort();
    const started = Date.now();
    const result = downloadTemporalCli(join(dir, 'temporal'), { infoUrl: `http://127.0.0.1:${closed}/cli/default`, infoTimeoutMs: 2_000 });
    expect(result).toEqual({ ok: false, reason: `connect ECONNREFUSED 127.0.0.1:${closed}` });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(join(dir, 'temporal'))).toBe(false);
  });
});
