import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../platform/repo-root.js';
import { buildContext } from './context.js';
import { parseDockerfile } from './dockerfile.js';

/** What `npm run check:image` replays (its full run, minutes long, is in .ci/run, not here). */
describe('the Dockerfile as check:image reads it', () => {
  it('has the stages, steps and runtime settings of the image', () => {
    const stages = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    expect(stages.map((stage) => [stage.name, stage.base])).toEqual([
      ['deps', { image: 'node:24.22.3-bookworm-slim' }],
      ['build', { stage: 'deps' }],
      ['prod-deps', { image: 'node:24.22.3-bookworm-slim' }],
      ['runtime', { image: 'node:24.22.3-bookworm-slim' }],
    ]);
    const runs = stages.flatMap((stage) => stage.steps.filter((step) => step.kind === 'run').map((step) => `${stage.name}: ${step.argv.join(' ')}`));
    expect(runs).toEqual([
      'deps: /bin/sh -c npm ci --no-audit --no-fund',
      'build: /bin/sh -c npm run build:dist',
      'prod-deps: /bin/sh -c npm ci --omit=dev --no-audit --no-fund',
    ]);
    const runtime = stages.at(-1)!;
    expect(runtime.steps).toContainEqual({ kind: 'user', user: 'node' });
    expect(runtime.steps).toContainEqual(expect.objectContaining({ kind: 'copy', from: 'build', sources: ['/app/dist'], dest: './dist' }));
    expect(runtime.cmd).toEqual(['node', '--enable-source-maps', 'dist/api/main.js']);
    expect(runtime.healthcheck).toEqual({
      argv: ['node', 'dist/scripts/image/healthcheck.js'],
      flags: { interval: '10s', timeout: '5s', 'start-period': '60s', retries: '3' },
    });
  });

  it('refuses what it cannot replay faithfully, by name', () => {
    const base = 'FROM node:24-bookworm-slim AS a\nWORKDIR /app\n';
    expect(() => parseDockerfile(`${base}ADD https://example.com/x.tgz ./\n`)).toThrow(/ADD is not replayed/);
    expect(() => parseDockerfile(`${base}COPY --chown=node package.json ./\n`)).toThrow(/--chown is not replayed/);
    expect(() => parseDockerfile(`${base}COPY *.json ./\n`)).toThrow(/only plain paths/);
    expect(() => parseDockerfile(`${base}ENTRYPOINT ["node"]\n`)).toThrow(/ENTRYPOINT is not replayed/);
    expect(parseDockerfile(`${base}RUN ["npm", "ci"]\nCMD node x.js\n`)[0]).toMatchObject({
      steps: [{ kind: 'workdir', path: '/app' }, { kind: 'run', argv: ['npm', 'ci'] }],
      cmd: ['/bin/sh', '-c', 'node x.js'],
    });
  });

  it('builds from the sources and the schema, without tests, local state or installed packages', () => {
    const context = buildContext(REPO_ROOT);
    expect(context).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.build.json', 'api/main.ts', 'workers/main.ts', 'schema/0001_foundation.sql']));
    expect(context.filter((path) => /(^|\/)(node_modules|dist|\.data|\.tools|\.git|test)\/|\.test\.ts$/.test(path))).toEqual([]);
  });
});
