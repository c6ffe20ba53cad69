import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { createBooks, errorReply, type Books, type Reply } from './books.js';
import { FAULT_MODES, createFaults } from './faults.js';
import { capture, refund, voidAuthorization } from './follow-ups.js';
import { METHOD_OF, SIM_PROCESSORS, type SimProcessor } from './tokens.js';

type Env = { Bindings: HttpBindings; Variables: { books: Books } };

/** Longer than any client waits (PROCESSOR_TIMEOUT_MS is at most 60 s). */
const DEFAULT_HOLD_MS = 65_000;

const keySchema = z.string().min(1).max(255);
const amountSchema = z.number().int().min(1).max(1_000_000_000_000);
const authorizeBody = z.strictObject({
  idempotency_key: keySchema,
  method: z.enum(['card', 'bank_transfer']),
  token: z.string().min(1).max(255),
  amount: amountSchema,
  currency: z.string().regex(/^[A-Z]{3}$/),
});
const amountBody = z.strictObject({ idempotency_key: keySchema, amount: amountSchema });
const voidBody = z.strictObject({ idempotency_key: keySchema });
const faultBody = z.strictObject({
  processor: z.enum(SIM_PROCESSORS),
  mode: z.enum(FAULT_MODES),
  count: z.number().int().min(1).max(1_000),
  hold_ms: z.number().int().min(0).max(600_000).optional(),
});

/**
 * The simulated outside world of payments: two card acquirers and a bank, each with its own
 * books and idempotency (see tokens.ts and faults.ts for the behaviours). `signal` ends held
 * responses when the server closes.
 */
export function createProcessorsApp(options: { signal?: AbortSignal } = {}) {
  const books = new Map<SimProcessor, Books>();
  const faults = createFaults();
  const reset = () => {
    for (const name of SIM_PROCESSORS) books.set(name, createBooks(name));
    faults.clear();
  };
  reset();

  const app = new Hono<Env>();
  app.post('/control/faults', async (c) => {
    const body = await parse(c, faultBody);
    if ('status' in body) return send(c, body);
    faults.arm(body.processor, { mode: body.mode, holdMs: body.hold_ms ?? DEFAULT_HOLD_MS }, body.count);
    return c.json({ armed: body });
  });
  /** The processors recover: armed faults are dropped, the books are kept. */
  app.post('/control/faults/clear', (c) => {
    faults.clear();
    return c.json({ cleared: true });
  });
  app.post('/control/reset', (c) => {
    reset();
    return c.json({ reset: true });
  });

  app.use('/processors/:processor/*', async (c, next) => {
    const processorBooks = books.get(c.req.param('processor') as SimProcessor);
    if (!processorBooks) return send(c, errorReply(404, 'processor_unknown', 'No such processor'));
    c.set('books', processorBooks);
    // The record is how tests look inside: never counted, never faulted.
    if (c.req.method === 'GET' && c.req.path.endsWith('/charges')) return next();
    processorBooks.counters.requestsReceived += 1;
    const fault = faults.take(processorBooks.processor);
    if (fault?.mode === 'error_500') return send(c, errorReply(500, 'injected_fault', 'Injected 500'));
    if (fault?.mode === 'drop') return loseResponse(c);
    await next();
    if (fault?.mode === 'timeout') {
      await sleep(fault.holdMs, undefined, { signal: options.signal }).catch(() => loseResponse(c));
    }
  });

  app.get('/processors/:processor/charges', (c) => c.json(chargesOf(c.var.books)));
  app.get('/processors/:processor/operations/:key', (c) => {
    const key = c.req.param('key');
    c.var.books.counters.lookupsReceived += 1;
    const seen = c.var.books.operations.get(key);
    if (!seen) return send(c, errorReply(404, 'operation_not_found', `No operation with key ${key}`));
    return c.json({ idempotency_key: key, kind: seen.kind, status_code: seen.reply.status, response: seen.reply.body });
  });
  app.post('/processors/:processor/authorizations', async (c) => {
    const body = await parse(c, authorizeBody);
    if ('status' in body) return send(c, body);
    if (METHOD_OF[c.var.books.processor] !== body.method) {
      return send(c, errorReply(400, 'method_unsupported', `${c.var.books.processor} does not take ${body.method}`));
    }
    const { idempotency_key: key, ...request } = body;
    return send(c, c.var.books.authorize(key, request));
  });
  app.post('/processors/:processor/authorizations/:id/capture', async (c) => {
    const body = await parse(c, amountBody);
    if ('status' in body) return send(c, body);
    return send(c, capture(c.var.books, c.req.param('id'), body.idempotency_key, body.amount));
  });
  app.post('/processors/:processor/authorizations/:id/void', async (c) => {
    const body = await parse(c, voidBody);
    if ('status' in body) return send(c, body);
    return send(c, voidAuthorization(c.var.books, c.req.param('id'), body.idempotency_key));
  });
  app.post('/processors/:processor/authorizations/:id/refunds', async (c) => {
    const body = await parse(c, amountBody);
    if ('status' in body) return send(c, body);
    return send(c, refund(c.var.books, c.req.param('id'), body.idempotency_key, body.amount));
  });
  app.notFound((c) => send(c, errorReply(404, 'route_unknown', 'No such route')));
  return app;
}

async function parse<T>(c: Context<Env>, schema: z.ZodType<T>): Promise<T | Reply> {
  const json: unknown = await c.req.json().catch(() => undefined);
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  return errorReply(400, 'parameter_invalid', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

function send(c: Context<Env>, reply: Reply): Response {
  if (reply.loseResponse) return loseResponse(c);
  return c.json(reply.body, reply.status as 200);
}

/** The processor did (or did not do) its work; the client never hears back. */
function loseResponse(c: Context<Env>): Response {
  c.env.incoming.socket.destroy();
  return c.body(null, 500);
}

function chargesOf(books: Books) {
  const authorizations = [...books.authorizations.values()].map((a) => ({
    id: a.id, idempotency_key: a.idempotencyKey, token: a.token, method: a.method, amount: a.amountMinor,
    currency: a.currency, status: a.status, amount_captured: a.capturedMinor, amount_refunded: a.refundedMinor,
    voided: a.voided, operations: a.operations,
  }));
  return {
    processor: books.processor,
    requests_received: books.counters.requestsReceived,
    lookups_received: books.counters.lookupsReceived,
    authorizations,
  };
}
