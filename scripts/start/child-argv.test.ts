import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { childArgv } from './child-argv.js';

/** The compiled form (`node --enable-source-maps dist/…js`) is what scripts/start.test.ts sees npm start run. */
describe('childArgv', () => {
  it('runs an entry from the sources through tsx when the supervisor runs from the sources', () => {
    const argv = childArgv('api/main');
    expect(argv.slice(0, 3)).toEqual([process.execPath, '--import', 'tsx']);
    expect(argv[3]).toMatch(/\/api\/main\.ts$/);
    expect(existsSync(argv[3]!)).toBe(true);
  });
});
