import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Call, type Harness } from '../../test/harness.js';
import { csvField } from './serialize.js';

/**
 * History (contract §2): transfer and top-up lists with filters, the balance at an instant and
 * statements (JSON and CSV) computed from the ledger entries, against the real stack: the money
 * moves through the top-up and transfer workflows first.
 */

let h: Harness;
let call: Call;
let apiKey: string;
let alice: string;
let bob: string;
let shop: string;
const transfers: string[] = [];
let beforeAllMs: number;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

beforeAll(async () => {
  h = await startHarness({ env: { API_WAIT_WINDOW_MS: '30000' } });
  const tenant = await h.newTenant();
  call = tenant.call;
  apiKey = tenant.apiKey;
  beforeAllMs = Date.now() - 1_000;
  [alice, bob, shop] = [await createAccount(call), await createAccount(call), await createAccount(call, { type: 'merchant' })];
  const topUp = (token: string, amount: number) =>
    call('POST', '/v1/topups', { body: { account_id: alice, amount, currency: 'USD', source: { type: 'bank_account', token } } });
  expect((await topUp('btok_success', 10_000)).body.status).toBe('succeeded');
  expect((await topUp('btok_insufficient_funds', 3_000)).body.status).toBe('failed');
  for (const [to, amount, description] of [[bob, 2_500, 'Rent, "June"'], [shop, 1_000, '=SUM(A1:A9)']] as const) {
    const res = await call('POST', '/v1/transfers', { body: { from_account_id: alice, to_account_id: to, amount, currency: 'USD', description } });
    expect(res.body.status).toBe('succeeded');
    transfers.push(res.body.id as string);
  }
});
afterAll(async () => {
  await h?.close();
});

const ids = (res: { body: Record<string, any> }) => (res.body.data as { id: string }[]).map((x) => x.id);

describe('history lists', () => {
  it('transfers by account (either side), status and creation time, newest first, paged', async () => {
    const [toBob, toShop] = transfers as [string, string];
    expect(ids(await call('GET', `/v1/transfers?account_id=${alice}`))).toEqual([toShop, toBob]);
    expect(ids(await call('GET', `/v1/transfers?account_id=${bob}`))).toEqual([toBob]);
    expect(ids(await call('GET', `/v1/transfers?account_id=${alice}&status=failed`))).toEqual([]);
    expect(ids(await call('GET', `/v1/transfers?account_id=${alice}&status=succeeded&created_gte=${new Date(beforeAllMs).toISOString()}`))).toEqual([toShop, toBob]);
    expect(ids(await call('GET', `/v1/transfers?account_id=${alice}&created_lt=${new Date(beforeAllMs).toISOString()}`))).toEqual([]);
    const first = await call('GET', `/v1/transfers?account_id=${alice}&limit=1`);
    expect(first.body).toMatchObject({ object: 'list', has_more: true, data: [{ id: toShop, description: '=SUM(A1:A9)' }] });
    const second = await call('GET', `/v1/transfers?account_id=${alice}&limit=1&starting_after=${toShop}`);
    expect(second.body).toMatchObject({ has_more: false, data: [{ id: toBob }] });
  });

  it('top-ups by account and status', async () => {
    const all = await call('GET', `/v1/topups?account_id=${alice}`);
    expect(all.body.data.map((t: { status: string }) => t.status)).toEqual(['failed', 'succeeded']);
    expect((await call('GET', `/v1/topups?account_id=${alice}&status=failed`)).body.data).toHaveLength(1);
    expect((await call('GET', `/v1/topups?account_id=${bob}`)).body.data).toEqual([]);
  });

  it('refuses a bad filter with 400 parameter_invalid', async () => {
    for (const query of ['status=done', 'created_gte=yesterday', 'limit=0']) {
      const res = await call('GET', `/v1/transfers?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('parameter_invalid');
    }
  });
});

describe('balance at an instant', () => {
  it('is the sum of the entries written at or before it', async () => {
    const entries = (await call('GET', `/v1/accounts/${alice}/entries?limit=100`)).body.data as { created_at: string; direction: string }[];
    expect(entries.map((e) => e.direction)).toEqual(['debit', 'debit', 'credit']);
    const topUpAt = entries[2]!.created_at;
    const at = async (instant: string) => (await call('GET', `/v1/accounts/${alice}/balance?at=${encodeURIComponent(instant)}`)).body;
    expect(await at(new Date(beforeAllMs).toISOString())).toEqual({ object: 'balance', account_id: alice, currency: 'USD', balance: 0, at: new Date(beforeAllMs).toISOString() });
    expect((await at(topUpAt)).balance).toBe(10_000);
    expect((await at(new Date(Date.parse(topUpAt) - 1).toISOString())).balance).toBe(0);
    expect((await call('GET', `/v1/accounts/${alice}/balance`)).body.balance).toBe(6_500);
    expect((await call('GET', `/v1/accounts/${bob}/balance?at=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.balance).toBe(2_500);
  });
});

describe('statements', () => {
  const today = () => day(Date.now());

  it('opening + credits − debits = closing, each entry with the balance after it', async () => {
    const res = await call('GET', `/v1/accounts/${alice}/statement?from=${day(beforeAllMs)}&to=${today()}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: 'statement', account_id: alice, currency: 'USD', opening_balance: 0, closing_balance: 6_500, total_credits: 10_000, total_debits: 3_500,
    });
    expect(res.body.entries.map((e: { direction: string; amount: number; balance_after: number; description: string }) => [e.direction, e.amount, e.balance_after, e.description]))
      .toEqual([['credit', 10_000, 10_000, expect.stringMatching(/^topup /)], ['debit', 2_500, 7_500, 'Rent, "June"'], ['debit', 1_000, 6_500, '=SUM(A1:A9)']]);
    const { opening_balance, total_credits, total_debits, closing_balance } = res.body;
    expect(opening_balance + total_credits - total_debits).toBe(closing_balance);
  });

  it('a window after the entries opens and closes at the balance; one before them at zero', async () => {
    const tomorrow = day(Date.now() + 86_400_000);
    expect((await call('GET', `/v1/accounts/${alice}/statement?from=${tomorrow}&to=${tomorrow}`)).body)
      .toMatchObject({ opening_balance: 6_500, closing_balance: 6_500, total_credits: 0, total_debits: 0, entries: [] });
    expect((await call('GET', `/v1/accounts/${alice}/statement?from=2020-01-01&to=2020-12-31`)).body)
      .toMatchObject({ opening_balance: 0, closing_balance: 0, entries: [] });
  });

  it('as CSV with Accept: text/csv: a header row, the same entries, fields quoted and formula-safe', async () => {
    const res = await h.app.request(`/v1/accounts/${alice}/statement?from=${today()}&to=${today()}`, {
      headers: { authorization: `Bearer ${apiKey}`, accept: 'text/csv' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('id,transaction_id,direction,amount,balance_after,description,created_at');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(1, -1).map((l) => l.split(',')[2])).toEqual(['credit', 'debit', 'debit']);
    expect(lines[2]).toContain(',"Rent, ""June""",');
    expect(lines[3]).toContain(",'=SUM(A1:A9),");
  });

  it('refuses a window backwards, longer than 366 days, or not a calendar day: 400, and another tenant’s account: 404', async () => {
    for (const [query, param] of [['from=2026-03-02&to=2026-03-01', 'to'], ['from=2025-01-01&to=2026-01-02', 'to'], ['from=2026-02-30&to=2026-03-01', 'from']] as const) {
      const res = await call('GET', `/v1/accounts/${alice}/statement?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'parameter_invalid', param });
    }
    expect((await call('GET', `/v1/accounts/${alice}/statement?from=2025-01-01&to=2025-12-31`)).status).toBe(200); // 365 days
    const other = await h.newTenant();
    expect((await other.call('GET', `/v1/accounts/${alice}/statement?from=${today()}&to=${today()}`)).status).toBe(404);
    expect((await other.call('GET', `/v1/accounts/${alice}/balance`)).status).toBe(404);
  });
});

describe('csvField', () => {
  it('quotes commas, quotes and line breaks, and defuses formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(-25)).toBe('-25');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(csvField('-1+1')).toBe("'-1+1");
  });
});
