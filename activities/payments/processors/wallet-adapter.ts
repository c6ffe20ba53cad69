import type pg from 'pg';
import { LedgerError } from '../../../domain/ledger/errors.js';
import type { Hold } from '../../../domain/ledger/types.js';
import { withTransaction, type Db } from '../../../store/db.js';
import { ensureSystemAccount, findAccountTenantId } from '../../../store/ledger/accounts.js';
import {
  findHoldAnyTenant, findHoldByKeyAnyTenant, placeHold, postHold, voidHold, type TenantHold,
} from '../../../store/ledger/holds.js';
import { postTransaction } from '../../../store/ledger/transactions.js';
import { ProcessorDeclined, ProcessorRequestRejected } from './errors.js';
import type {
  Authorization, AuthorizeRequest, Capture, CaptureRequest, OperationKind, OperationResults, ProcessorAdapter, Refund,
  RefundRequest, Void, VoidRequest,
} from './types.js';

export const WALLET_PROCESSOR = 'wallet_ledger';

/**
 * The wallet as a processor, behind the same interface as the card acquirers: the token is the
 * wallet account id, an authorization is a ledger hold on it, a capture posts the hold to the
 * tenant's clearing (system) account, a void releases it and a refund pays the wallet back from
 * clearing. The saga then moves money between clearing and the merchant exactly as for cards.
 * Every step is idempotent by the caller's key, like a processor's.
 */
export function createWalletProcessorAdapter({ pool }: { pool: pg.Pool }): ProcessorAdapter {
  const processor = WALLET_PROCESSOR;

  /** The authorization's hold, else the request is rejected (`authorization_missing`). */
  async function holdOf(db: Db, authorizationId: string, kind: OperationKind): Promise<TenantHold> {
    const hold = await findHoldAnyTenant(db, authorizationId);
    if (!hold) throw new ProcessorRequestRejected(processor, kind, 'authorization_missing', `No hold ${authorizationId}`);
    return hold;
  }

  function declined(kind: OperationKind, err: unknown): never {
    if (err instanceof LedgerError) {
      if (err.code === 'insufficient_funds' || err.code === 'limit_exceeded') throw new ProcessorDeclined(processor, kind, err.code, undefined, undefined);
      throw new ProcessorRequestRejected(processor, kind, err.code, err.message);
    }
    throw err;
  }

  const toAuthorization = (hold: Hold): Authorization =>
    ({ processor, id: hold.id, method: 'wallet', amountMinor: hold.amountMinor, currency: hold.currency });

  async function authorize(r: AuthorizeRequest): Promise<Authorization> {
    const tenantId = await findAccountTenantId(pool, r.token);
    if (!tenantId) throw new ProcessorDeclined(processor, 'authorize', 'account_unavailable', undefined, undefined);
    const hold = await withTransaction(pool, (client) => placeHold(client, {
      tenantId, idempotencyKey: r.idempotencyKey, accountId: r.token,
      amountMinor: r.amountMinor, currency: r.currency, enforceLimits: true,
    })).catch((err: unknown) => declined('authorize', err));
    return toAuthorization(hold);
  }

  async function capture(r: CaptureRequest): Promise<Capture> {
    return withTransaction(pool, async (client) => {
      const hold = await holdOf(client, r.authorizationId, 'capture');
      const clearing = await ensureSystemAccount(client, hold.tenantId, hold.currency);
      const posted = await postHold(client, {
        tenantId: hold.tenantId, idempotencyKey: r.idempotencyKey, holdId: hold.id, creditAccountId: clearing,
        amountMinor: r.amountMinor, kind: 'wallet_capture',
      }).catch((err: unknown) => declined('capture', err));
      return { processor, id: posted.transactionId, authorizationId: hold.id, amountMinor: r.amountMinor };
    });
  }

  async function voidAuthorization(r: VoidRequest): Promise<Void> {
    await withTransaction(pool, async (client) => {
      const hold = await holdOf(client, r.authorizationId, 'void');
      await voidHold(client, hold.tenantId, hold.id).catch((err: unknown) => declined('void', err));
    });
    return { processor, id: `${r.authorizationId}:void`, authorizationId: r.authorizationId };
  }

  async function refund(r: RefundRequest): Promise<Refund> {
    return withTransaction(pool, async (client) => {
      const hold = await holdOf(client, r.authorizationId, 'refund');
      const clearing = await ensureSystemAccount(client, hold.tenantId, hold.currency);
      const posted = await postTransaction(client, {
        tenantId: hold.tenantId, idempotencyKey: r.idempotencyKey, kind: 'wallet_refund', referenceId: hold.id, currency: hold.currency,
        postings: [
          { accountId: clearing, direction: 'debit', amountMinor: r.amountMinor },
          { accountId: hold.accountId, direction: 'credit', amountMinor: r.amountMinor },
        ],
      }).catch((err: unknown) => declined('refund', err));
      return { processor, id: posted.transactionId, authorizationId: hold.id, amountMinor: r.amountMinor };
    });
  }

  /** An earlier call's result by key (authorizations are holds; the rest are ledger transactions). */
  async function lookup<K extends OperationKind>(kind: K, key: string): Promise<OperationResults[K] | null> {
    if (kind === 'authorize') {
      const hold = await findHoldByKeyAnyTenant(pool, key);
      return (hold ? toAuthorization(hold) : null) as OperationResults[K] | null;
    }
    return null; // capture, void and refund are idempotent by key themselves: calling again is safe
  }

  return { processor, authorize, capture, void: voidAuthorization, refund, lookup };
}
