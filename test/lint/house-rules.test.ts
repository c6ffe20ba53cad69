import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// One instance for the file: it keeps the TypeScript project service between calls (each new one rebuilds it).
const eslint = new ESLint({ cwd: ROOT });

async function lintAs(filePath: string, code: string): Promise<{ rule: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${filePath}` });
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, message: m.message }));
}

const sqlFindings = (messages: { message: string }[]) => messages.filter((m) => m.message.startsWith('SQL lives in store/'));

describe('the house: SQL only in store/', () => {
  const code = [
    "import type pg from 'pg';",
    "export const a = (db: pg.Pool) => db.query('SELECT id FROM transfers WHERE id = $1', ['x']);",
    'export const b = (db: pg.Pool, t: string) => db.query(`UPDATE transfers SET status = $2 WHERE id = ${t}`);',
    "export const c = 'INSERT INTO outbox (id) VALUES ($1)';",
  ].join('\n');

  it('refuses SQL text in api/, activities/, workers/ and platform/ (string, template, query call)', async () => {
    for (const file of ['api/transfers/routes.ts', 'activities/wallet/transfer-activities.ts', 'workers/outbox-relay.ts', 'platform/config.ts']) {
      expect(sqlFindings(await lintAs(file, code)).length, file).toBeGreaterThanOrEqual(3);
    }
  });

  it('allows it in store/ and in tests (which read rows to check them)', async () => {
    expect(sqlFindings(await lintAs('store/wallet/transfers.ts', code))).toEqual([]);
    expect(sqlFindings(await lintAs('api/transfers/transfers.test.ts', code))).toEqual([]);
  });

  it('does not take words in messages or Hono query calls for SQL', async () => {
    const prose = "export const m = ['Select an account', 'update the limit', c.req.query('base')];\ndeclare const c: { req: { query(k: string): string } };\n";
    expect(sqlFindings(await lintAs('api/accounts/routes.ts', prose))).toEqual([]);
  });
});

describe('the house: arrows point down', () => {
  const refused = async (file: string, importLine: string) =>
    (await lintAs(file, `${importLine}\nexport const used = [x];\n`)).filter((m) => m.rule === 'no-restricted-imports');

  it('refuses imports up the house', async () => {
    expect(await refused('api/transfers/routes.ts', "import { x } from '../../activities/wallet/index.js';")).toHaveLength(1);
    expect(await refused('activities/wallet/index.ts', "import { x } from '../../workflows/wallet/types.js';")).toHaveLength(1);
    expect(await refused('store/wallet/transfers.ts', "import { x } from '../../activities/failure.js';")).toHaveLength(1);
    expect(await refused('store/wallet/transfers.ts', "import { x } from '@temporalio/activity';")).toHaveLength(1);
    expect(await refused('platform/config.ts', "import { x } from '../workflows/contracts.js';")).toHaveLength(1);
    expect(await refused('domain/ledger/rules.ts', "import { x } from 'pg';")).toHaveLength(1);
    expect(await refused('domain/ledger/rules.ts', "import { x } from '../../store/db.js';")).toHaveLength(1);
    expect(await refused('workflows/wallet/p2p-transfer.ts', "import { x } from '../../store/db.js';")).toHaveLength(1);
  });

  it('allows imports down the house', async () => {
    expect(await refused('api/transfers/routes.ts', "import { x } from '../../store/wallet/transfers.js';")).toEqual([]);
    expect(await refused('activities/wallet/index.ts', "import { x } from '../../store/ledger/holds.js';")).toEqual([]);
    expect(await refused('store/wallet/transfers.ts', "import { x } from '../../domain/wallet/types.js';")).toEqual([]);
    expect(await refused('workers/registry.ts', "import { x } from '../activities/wallet/index.js';")).toEqual([]);
  });
});
