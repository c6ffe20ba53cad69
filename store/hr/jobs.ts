import { RecruitmentError } from '../../domain/hr/recruitment.js';
import { newId } from '../../domain/ids.js';
import type { Db } from '../db.js';
import { col, pgErrorOf, rowMapper } from '../rows.js';

/** The `jobs` table (contract §11): an opening, its department and hiring manager. */

export interface Job {
  id: string;
  tenantId: string;
  title: string;
  department: string;
  hiringManagerId: string;
  createdAt: Date;
}

const job = rowMapper<Job>({
  id: col.text('id'),
  tenantId: col.text('tenant_id'),
  title: col.text('title'),
  department: col.text('department'),
  hiringManagerId: col.text('hiring_manager_id'),
  createdAt: col.timestamp('created_at'),
});

/** An unknown hiring manager (or another tenant's) is `resource_missing`. */
export async function insertJob(db: Db, input: Omit<Job, 'id' | 'createdAt'>): Promise<Job> {
  try {
    const { rows } = await db.query(
      `INSERT INTO jobs (id, tenant_id, title, department, hiring_manager_id) VALUES ($1, $2, $3, $4, $5) RETURNING ${job.columns()}`,
      [newId('job'), input.tenantId, input.title, input.department, input.hiringManagerId],
    );
    return job.map(rows[0]);
  } catch (err) {
    const { code, constraint } = pgErrorOf(err);
    if (code === '23503' && constraint === 'jobs_hiring_manager') {
      throw new RecruitmentError('resource_missing', 'No such employee (hiring_manager_id).', 'hiring_manager_id');
    }
    throw err;
  }
}

/** Another tenant's job reads as missing (null). */
export async function findJob(db: Db, tenantId: string, jobId: string): Promise<Job | null> {
  const { rows } = await db.query(`SELECT ${job.columns()} FROM jobs WHERE tenant_id = $1 AND id = $2`, [tenantId, jobId]);
  return rows[0] ? job.map(rows[0]) : null;
}
