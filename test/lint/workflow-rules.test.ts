import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function lintAs(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${filePath}` });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('workflow determinism lint', () => {
  it('refuses Node built-ins, process.env and I/O clients in workflows/', async () => {
    const rules = await lintAs('workflows/wallet/p2p-transfer.ts', [
      "import { readFileSync } from 'node:fs';",
      "import pg from 'pg';",
      'export const x = [readFileSync, pg, process.env.X];',
    ].join('\n'));
    expect(rules.filter((r) => r === 'no-restricted-imports')).toHaveLength(2);
    expect(rules).toContain('no-restricted-globals');
  });

  it('allows the same code outside workflows/', async () => {
    const rules = await lintAs('activities/wallet/topup-activities.ts', "import { readFileSync } from 'node:fs';\nexport const x = [readFileSync, process.env.X];\n");
    expect(rules.filter((r) => r?.startsWith('no-restricted'))).toEqual([]);
  });

  it('flags a floating promise', async () => {
    const rules = await lintAs('api/health/routes.ts', 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n');
    expect(rules).toContain('@typescript-eslint/no-floating-promises');
  });
});
