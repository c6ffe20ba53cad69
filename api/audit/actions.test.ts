import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';
import { AUDITED_ROUTES, auditedRoute, STATE_CHANGING_METHODS, UNAUDITED_ROUTES } from './actions.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(async () => {
  await h?.close();
});

describe('the audited routes table', () => {
  it('names an action for every state-changing operation in /openapi.json', async () => {
    const res = await h.app.request('/openapi.json');
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .map((method) => method.toUpperCase())
        .filter((method) => STATE_CHANGING_METHODS.has(method))
        // OpenAPI writes `{id}` where the Hono pattern the middleware matches has `:id`.
        .map((method) => `${method} ${path.replace(/\{([^}]+)\}/g, ':$1')}`));
    expect(operations.length).toBeGreaterThan(25);
    const missing = operations.filter((op) => {
      const [method, pattern] = op.split(' ') as [string, string];
      return auditedRoute(method, pattern) === undefined && UNAUDITED_ROUTES[op] === undefined;
    });
    expect(missing, 'add these to api/audit/actions.ts').toEqual([]);
  });

  it('actions are `<resource>.<verb>` and the resource type is the action’s resource', () => {
    for (const [route, audited] of Object.entries(AUDITED_ROUTES)) {
      expect(audited.action, route).toMatch(/^[a-z_]{1,64}\.[a-z_]{1,64}$/);
      expect(audited.action.split('.')[0], route).toBe(audited.resourceType);
      if ('param' in audited.resourceId) expect(route, route).toContain(`:${audited.resourceId.param}`);
    }
  });
});
