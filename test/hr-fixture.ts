import { expect } from 'vitest';
import type { Call } from './harness.js';

/**
 * A tenant's leave set-up for HR tests: the `annual` leave type, a manager and a worker reporting to
 * them (employee numbers `<prefix>-1`, `<prefix>-2`).
 */
export async function leaveTeam(call: Call, prefix: string) {
  expect((await call('POST', '/v1/leave-types', { body: { code: 'annual', name: 'Annual leave' } })).status).toBe(201);
  let n = 0;
  const employee = async (managerId?: string) => {
    n++;
    const res = await call('POST', '/v1/employees', {
      body: {
        employee_number: `${prefix}-${n}`, first_name: 'Ada', last_name: `P${n}`, email: `${prefix.toLowerCase()}${n}@example.com`,
        department: 'Ops', hire_date: '2020-01-15', ...(managerId ? { manager_id: managerId } : {}),
      },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const manager = await employee();
  const worker = await employee(manager);
  return { manager, worker };
}
