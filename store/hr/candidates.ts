import type pg from 'pg';
import { nextStage, RecruitmentError, type CandidateStage, type StageMover } from '../../domain/hr/recruitment.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { checkPageLimit, toPage, type ListPage, type PageQuery } from '../paging.js';
import { assertInTransaction, col, pgErrorOf, rowMapper } from '../rows.js';

/**
 * The `candidates` table (contract §11): a person applying to a job, their stage and its history.
 * Every stage change runs under the candidate's row lock and through domain/hr/recruitment.ts
 * `nextStage`, so two concurrent moves cannot both pass the check.
 */

export interface StageChange {
  at: string;
  from: CandidateStage | null;
  to: CandidateStage;
  /** The acting user (`sub`), or `offer:<off_id>` for a hire. */
  actor_id: string;
}

export interface Candidate {
  id: string;
  tenantId: string;
  jobId: string;
  name: string;
  email: string;
  stage: CandidateStage;
  history: StageChange[];
  employeeId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const candidate = rowMapper<Candidate>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  jobId: col.text('job_id'),
  name: col.text('name'),
  email: col.text('email'),
  stage: col.of<CandidateStage>('stage'),
  history: col.json<StageChange[]>('history'),
  employeeId: col.textOrNull('employee_id'),
  createdAt: col.timestamp('created_at'),
  updatedAt: col.timestamp('updated_at'),
});

/** A new candidate is `applied` (the first history entry). Unknown job: `resource_missing`. */
export async function insertCandidate(
  db: Db, input: { tenantId: string; jobId: string; name: string; email: string; actorId: string },
): Promise<Candidate> {
  const first: StageChange = { at: new Date().toISOString(), from: null, to: 'applied', actor_id: input.actorId };
  try {
    const { rows } = await db.query(
      `INSERT INTO candidates (id, tenant_id, job_id, name, email, history) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${candidate.columns()}`,
      [newId('candidate'), input.tenantId, input.jobId, input.name, input.email, JSON.stringify([first])],
    );
    return candidate.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23503' && constraint === 'candidates_job') throw new RecruitmentError('resource_missing', 'No such job (job_id).', 'job_id');
    throw err;
  }
}

export async function findCandidate(db: Db, tenantId: string, candidateId: string): Promise<Candidate | null> {
  const { rows } = await db.query(`SELECT ${candidate.columns()} FROM candidates WHERE tenant_id = $1 AND id = $2`, [tenantId, candidateId]);
  return rows[0] ? candidate.map(rows[0]) : null;
}

/** Locks the candidate's row for a stage change (or an offer made to them). Missing: `resource_missing`. */
export async function lockCandidate(client: pg.PoolClient, tenantId: string, candidateId: string): Promise<Candidate> {
  assertInTransaction(client, 'lockCandidate');
  const { rows } = await client.query(
    `SELECT ${candidate.columns()} FROM candidates WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`, [tenantId, candidateId],
  );
  if (!rows[0]) throw new RecruitmentError('resource_missing', `No such candidate: ${candidateId}`, 'id');
  return candidate.map(rows[0]);
}

/**
 * Moves the candidate to `to` (checked by nextStage under the row lock) and appends the change to
 * the history; `employeeId` with `hired`. Refusals: `candidate_invalid_state`.
 */
export async function moveCandidate(
  client: pg.PoolClient,
  input: { tenantId: string; candidateId: string; to: CandidateStage; mover: StageMover; actorId: string; employeeId?: string },
): Promise<Candidate> {
  const current = await lockCandidate(client, input.tenantId, input.candidateId);
  const to = nextStage(current.stage, input.to, input.mover);
  const change: StageChange = { at: new Date().toISOString(), from: current.stage, to, actor_id: input.actorId };
  const { rows } = await client.query(
    `UPDATE candidates SET stage = $3, employee_id = coalesce($4, employee_id), history = history || $5::jsonb, updated_at = now()
     WHERE tenant_id = $1 AND id = $2 RETURNING ${candidate.columns()}`,
    [input.tenantId, input.candidateId, to, input.employeeId ?? null, JSON.stringify([change])],
  );
  return candidate.map(rows[0]);
}

/** A job's candidates, newest first, optionally of one stage. */
export async function listCandidates(
  db: Db, tenantId: string, jobId: string, query: PageQuery & { stage?: CandidateStage | undefined },
): Promise<ListPage<Candidate>> {
  checkPageLimit(query.limit);
  const { rows } = await db.query(
    `SELECT ${candidate.columns()} FROM candidates
     WHERE tenant_id = $1 AND job_id = $2 AND ($3::text IS NULL OR stage = $3) AND ($4::text IS NULL OR id < $4)
     ORDER BY id DESC LIMIT $5`,
    [tenantId, jobId, query.stage ?? null, query.startingAfter ?? null, query.limit + 1],
  );
  return toPage(rows, query.limit, candidate.map);
}
