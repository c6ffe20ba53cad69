import { RecruitmentError } from '../../domain/hr/recruitment.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { col, pgErrorOf, rowMapper } from '../rows.js';

/** The `interviews` table (contract §11): a candidate's interview slot, its interviewer and their feedback. */

export interface Interview {
  id: string;
  tenantId: string;
  candidateId: string;
  interviewerId: string;
  at: Date;
  rating: number | null;
  notes: string | null;
  feedbackAt: Date | null;
  remindedAt: Date | null;
  createdAt: Date;
}

const interview = rowMapper<Interview>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  candidateId: col.text('candidate_id'),
  interviewerId: col.text('interviewer_id'),
  at: col.timestamp('at'),
  rating: col.intOrNull('rating'),
  notes: col.textOrNull('notes'),
  feedbackAt: col.timestampOrNull('feedback_at'),
  remindedAt: col.timestampOrNull('reminded_at'),
  createdAt: col.timestamp('created_at'),
});

/** The most interviews `listInterviews` returns (a candidate has a handful). */
export const INTERVIEWS_PER_CANDIDATE_MAX = 100;

/** Unknown interviewer: `resource_missing` (the candidate is checked by the caller, under its lock). */
export async function insertInterview(db: Db, input: { tenantId: string; candidateId: string; interviewerId: string; at: Date }): Promise<Interview> {
  try {
    const { rows } = await db.query(
      `INSERT INTO interviews (id, tenant_id, candidate_id, interviewer_id, at) VALUES ($1, $2, $3, $4, $5) RETURNING ${interview.columns()}`,
      [newId('interview'), input.tenantId, input.candidateId, input.interviewerId, input.at],
    );
    return interview.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23503' && constraint === 'interviews_interviewer') {
      throw new RecruitmentError('resource_missing', 'No such employee (interviewer_id).', 'interviewer_id');
    }
    throw err;
  }
}

export async function findInterview(db: Db, tenantId: string, interviewId: string): Promise<Interview | null> {
  const { rows } = await db.query(`SELECT ${interview.columns()} FROM interviews WHERE tenant_id = $1 AND id = $2`, [tenantId, interviewId]);
  return rows[0] ? interview.map(rows[0]) : null;
}

/** The candidate's interviews, by slot. */
export async function listInterviews(db: Db, tenantId: string, candidateId: string): Promise<Interview[]> {
  const { rows } = await db.query(
    `SELECT ${interview.columns()} FROM interviews WHERE tenant_id = $1 AND candidate_id = $2 ORDER BY at, id LIMIT $3`,
    [tenantId, candidateId, INTERVIEWS_PER_CANDIDATE_MAX],
  );
  return rows.map(interview.map);
}

/** Records the interviewer's feedback once; a second time is `resource_exists`. */
export async function recordFeedback(db: Db, input: { tenantId: string; interviewId: string; rating: number; notes: string | null }): Promise<Interview> {
  const { rows } = await db.query(
    `UPDATE interviews SET rating = $3, notes = $4, feedback_at = now()
     WHERE tenant_id = $1 AND id = $2 AND feedback_at IS NULL RETURNING ${interview.columns()}`,
    [input.tenantId, input.interviewId, input.rating, input.notes],
  );
  if (!rows[0]) throw new RecruitmentError('resource_exists', 'The interviewer has given feedback on this interview already.');
  return interview.map(rows[0]);
}

/** Marks the reminder sent; false when it was already (a retried step). */
export async function markReminded(db: Db, tenantId: string, interviewId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE interviews SET reminded_at = now() WHERE tenant_id = $1 AND id = $2 AND reminded_at IS NULL', [tenantId, interviewId],
  );
  return rowCount === 1;
}

/** Removes an interview whose reminder run definitely did not start (the request then changed nothing). */
export async function deleteUnstartedInterview(db: Db, tenantId: string, interviewId: string): Promise<void> {
  await db.query('DELETE FROM interviews WHERE tenant_id = $1 AND id = $2 AND reminded_at IS NULL AND feedback_at IS NULL', [tenantId, interviewId]);
}
