import type pg from 'pg';
import { nextOfferStatus, RecruitmentError, type OfferDecision, type OfferStatus } from '../../domain/hr/recruitment.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { assertInTransaction, col, pgErrorOf, rowMapper } from '../rows.js';

/**
 * The `offers` table (contract §11): an offer to a candidate, moved by its offer workflow
 * (workflows/hr/offer.ts) through domain/hr/recruitment.ts `nextOfferStatus`, under the row lock.
 */

export interface OfferEntry {
  at: string;
  action: 'created' | 'approved' | 'rejected' | 'accepted' | 'declined' | 'expired';
  /** The acting user; null: the system (an approval without approver, an expiry, the candidate's answer). */
  actor_id: string | null;
}

export interface Offer {
  id: string;
  tenantId: string;
  candidateId: string;
  annualSalaryMinor: number;
  currency: string;
  startDate: string;
  expiresAt: Date;
  status: OfferStatus;
  approverId: string | null;
  createdBy: string;
  history: OfferEntry[];
  employeeId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const offer = rowMapper<Offer>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  candidateId: col.text('candidate_id'),
  annualSalaryMinor: col.int('annual_salary'),
  currency: col.text('currency'),
  startDate: col.date('start_date'),
  expiresAt: col.timestamp('expires_at'),
  status: col.of<OfferStatus>('status'),
  approverId: col.textOrNull('approver_id'),
  createdBy: col.text('created_by'),
  history: col.json<OfferEntry[]>('history'),
  employeeId: col.textOrNull('employee_id'),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

export type NewOffer = Pick<Offer, 'tenantId' | 'candidateId' | 'annualSalaryMinor' | 'currency' | 'startDate' | 'expiresAt' | 'approverId' | 'createdBy'>;

/** A candidate with a live offer (waiting or accepted) gets no second one: `resource_exists`. */
export async function insertOffer(db: Db, input: NewOffer): Promise<Offer> {
  const created: OfferEntry = { at: new Date().toISOString(), action: 'created', actor_id: input.createdBy };
  try {
    const { rows } = await db.query(
      `INSERT INTO offers (id, tenant_id, candidate_id, annual_salary, currency, start_date, expires_at, approver_id, created_by, history)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${offer.columns()}`,
      [
        newId('offer'), input.tenantId, input.candidateId, input.annualSalaryMinor, input.currency, input.startDate, input.expiresAt,
        input.approverId, input.createdBy, JSON.stringify([created]),
      ],
    );
    return offer.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23505' && constraint === 'offers_live_unique') {
      throw new RecruitmentError('resource_exists', 'The candidate has a live offer already (waiting or accepted).', 'id');
    }
    throw err;
  }
}

export async function findOffer(db: Db, tenantId: string, offerId: string): Promise<Offer | null> {
  const { rows } = await db.query(`SELECT ${offer.columns()} FROM offers WHERE tenant_id = $1 AND id = $2`, [tenantId, offerId]);
  return rows[0] ? offer.map(rows[0]) : null;
}

/** Whether the candidate has an offer waiting for a decision (their stage may not change meanwhile). */
export async function hasWaitingOffer(db: Db, tenantId: string, candidateId: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM offers WHERE tenant_id = $1 AND candidate_id = $2 AND status IN ('awaiting_approval', 'awaiting_candidate')`,
    [tenantId, candidateId],
  );
  return rows.length > 0;
}

const ACTIONS: Record<OfferDecision, OfferEntry['action']> = {
  approve: 'approved', reject: 'rejected', accept: 'accepted', decline: 'declined', expire: 'expired',
};

/**
 * Applies `decision` under the row lock. Idempotent: an offer already at the status this decision
 * leads to is returned unchanged with `changed: false` (a retried step); any other refusal is
 * `offer_invalid_state`. `employeeId` with `accept` (the hire step's employee).
 */
export async function decideOffer(
  client: pg.PoolClient,
  input: { tenantId: string; offerId: string; decision: OfferDecision; actorId: string | null; employeeId?: string; hireKey?: string },
): Promise<{ offer: Offer; changed: boolean }> {
  assertInTransaction(client, 'decideOffer');
  const current = await lockOffer(client, input.tenantId, input.offerId);
  const target = { approve: 'awaiting_candidate', reject: 'rejected', accept: 'accepted', decline: 'declined', expire: 'expired' }[input.decision];
  if (current.status === target && current.history.at(-1)?.action === ACTIONS[input.decision]) return { offer: current, changed: false };
  const next = nextOfferStatus(current.status, input.decision);
  const entry: OfferEntry = { at: new Date().toISOString(), action: ACTIONS[input.decision], actor_id: input.actorId };
  const { rows } = await client.query(
    `UPDATE offers SET status = $3, history = history || $4::jsonb, employee_id = coalesce($5, employee_id),
       hire_key = coalesce($6, hire_key), updated_at = now()
     WHERE tenant_id = $1 AND id = $2 RETURNING ${offer.columns()}`,
    [input.tenantId, input.offerId, next, JSON.stringify([entry]), input.employeeId ?? null, input.hireKey ?? null],
  );
  return { offer: offer.map(rows[0]), changed: true };
}

export async function lockOffer(client: pg.PoolClient, tenantId: string, offerId: string): Promise<Offer> {
  assertInTransaction(client, 'lockOffer');
  const { rows } = await client.query(`SELECT ${offer.columns()} FROM offers WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`, [tenantId, offerId]);
  if (!rows[0]) throw new RecruitmentError('resource_missing', `No such offer: ${offerId}`, 'id');
  return offer.map(rows[0]);
}

/** Removes an offer whose workflow definitely did not start (the request then changed nothing). */
export async function deleteUnstartedOffer(db: Db, tenantId: string, offerId: string): Promise<void> {
  await db.query(`DELETE FROM offers WHERE tenant_id = $1 AND id = $2 AND status = 'awaiting_approval'`, [tenantId, offerId]);
}
