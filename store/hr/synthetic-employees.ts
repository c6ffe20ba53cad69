import type pg from 'pg';
import { assertInTransaction } from '../rows.js';

/**
 * Benchmarks only (bench/reviews.ts): `count` active employees of a tenant in ONE statement, as an
 * org chart — one head, 10 directors under them, 100 managers under the directors, everyone else
 * under a manager — spread over `departments` departments. Ids `emp_BENCH<21 digits>` (sortable,
 * the id shape), numbers `B<n>`, e-mails `b<n>@bench.example`. Not for tenants people use.
 */
export async function insertSyntheticOrg(client: pg.PoolClient, input: { tenantId: string; count: number; departments: number }): Promise<void> {
  assertInTransaction(client, 'insertSyntheticOrg');
  const idOf = (expr: string) => `'emp_BENCH' || lpad((${expr})::text, 21, '0')`;
  await client.query(
    `INSERT INTO employees (id, tenant_id, employee_number, first_name, last_name, email, department, manager_id, hire_date)
     SELECT ${idOf('n')}, $1, 'B' || n, 'Bench', 'Person ' || n, 'b' || n || '@bench.example', 'Dept ' || (n % $3),
            CASE WHEN n = 0 THEN NULL
                 WHEN n <= 10 THEN ${idOf('0')}
                 WHEN n <= 110 THEN ${idOf('1 + (n - 11) % 10')}
                 ELSE ${idOf('11 + (n - 111) % 100')} END,
            DATE '2020-01-01'
     FROM generate_series(0, $2::int - 1) AS n`,
    [input.tenantId, input.count, input.departments],
  );
}
