import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The client is published alone: lint keeps the repository's code out of its sources. */
describe('the client package’s boundary', () => {
  it('refuses imports from outside packages/client/src in its sources', async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const code = "import { createApp } from '../../../api/app.js';\nimport { paths } from './schema.js';\nexport const used = [createApp, paths];\n";
    const rulesOf = async (file: string) => {
      const [result] = await eslint.lintText(code, { filePath: `${ROOT}${file}` });
      return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
    };
    expect(await rulesOf('packages/client/src/index.ts')).toEqual([expect.stringContaining('The client imports only its own src/ files')]);
  });
});
