import { DomainError } from '../errors.js';

/**
 * Recruitment (contract §11): a candidate's stages and an offer's statuses, pure, so the store, the
 * offer workflow and the API agree on which moves exist.
 *
 * Stages go forward one step at a time: applied → screening → interview → offer → hired; any stage
 * before `hired` may end in `rejected` (the company says no) or `withdrawn` (the candidate does).
 * A move that skips a stage or goes back is `candidate_invalid_state`. `hired` is never reached by
 * `advance`: only an accepted offer hires (it creates the employee in the same transaction).
 */

export const CANDIDATE_STAGES = ['applied', 'screening', 'interview', 'offer', 'hired', 'rejected', 'withdrawn'] as const;
export type CandidateStage = (typeof CANDIDATE_STAGES)[number];

/** The stages `POST /v1/candidates/:id/advance {to}` accepts (hired: by an accepted offer only). */
export const ADVANCE_TARGETS = ['screening', 'interview', 'offer', 'rejected', 'withdrawn'] as const satisfies readonly CandidateStage[];
export type AdvanceTarget = (typeof ADVANCE_TARGETS)[number];

/** Who moves the candidate: a person through `advance`, or an accepted offer. */
export type StageMover = 'advance' | 'offer_accepted';

/** The next stage of the pipeline (null after `offer`: hiring is the offer's). */
const FORWARD: Readonly<Record<CandidateStage, CandidateStage | null>> = {
  applied: 'screening',
  screening: 'interview',
  interview: 'offer',
  offer: 'hired',
  hired: null,
  rejected: null,
  withdrawn: null,
};

export const FINAL_STAGES: readonly CandidateStage[] = ['hired', 'rejected', 'withdrawn'];

export function isFinalStage(stage: CandidateStage): boolean {
  return FINAL_STAGES.includes(stage);
}

export type RecruitmentErrorCode =
  | 'parameter_invalid'
  | 'resource_missing'
  | 'resource_exists'
  | 'forbidden'
  | 'not_approver'
  | 'candidate_invalid_state'
  | 'offer_invalid_state';

/** Business outcomes of recruitment, each with the contract's stable code (api/errors.ts maps them). */
export class RecruitmentError extends DomainError {
  override name = 'RecruitmentError';
  constructor(
    readonly code: RecruitmentErrorCode,
    message: string,
    override readonly param?: string,
  ) {
    super(message);
  }
}

/**
 * The stage after moving `current` to `to` by `mover`, or `candidate_invalid_state`: a final stage
 * moves no more; `rejected`/`withdrawn` end any other stage; otherwise only the next stage, and
 * `hired` only from `offer` by an accepted offer.
 */
export function nextStage(current: CandidateStage, to: CandidateStage, mover: StageMover): CandidateStage {
  if (isFinalStage(current)) {
    throw new RecruitmentError('candidate_invalid_state', `The candidate is ${current}: the stage can no longer change.`);
  }
  if (to === 'rejected' || to === 'withdrawn') {
    if (mover !== 'advance') throw new RecruitmentError('candidate_invalid_state', `Only advance moves a candidate to ${to}.`);
    return to;
  }
  if (to === 'hired' && mover !== 'offer_accepted') {
    throw new RecruitmentError('candidate_invalid_state', 'A candidate is hired by accepting an offer, not by advance.', 'to');
  }
  if (to === 'hired' || mover === 'advance') {
    if (FORWARD[current] === to) return to;
  }
  throw new RecruitmentError(
    'candidate_invalid_state',
    `The candidate is ${current}: ${to} ${CANDIDATE_STAGES.indexOf(to) < CANDIDATE_STAGES.indexOf(current) ? 'goes back' : 'skips a stage'}` +
      ` (next: ${FORWARD[current]}, or rejected/withdrawn).`,
    'to',
  );
}

// ---- Offers ------------------------------------------------------------------------------------

/**
 * awaiting_approval → (approve) awaiting_candidate → accepted | declined; rejected by the approver;
 * expired at `expires_at` from either waiting status.
 */
export const OFFER_STATUSES = ['awaiting_approval', 'awaiting_candidate', 'accepted', 'declined', 'rejected', 'expired'] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];

export const OFFER_DECISIONS = ['approve', 'reject', 'accept', 'decline', 'expire'] as const;
export type OfferDecision = (typeof OFFER_DECISIONS)[number];

export const OFFER_TRANSITIONS = {
  awaiting_approval: { approve: 'awaiting_candidate', reject: 'rejected', expire: 'expired' },
  awaiting_candidate: { accept: 'accepted', decline: 'declined', expire: 'expired' },
  accepted: {},
  declined: {},
  rejected: {},
  expired: {},
} as const satisfies Record<OfferStatus, Partial<Record<OfferDecision, OfferStatus>>>;

export function isFinalOfferStatus(status: OfferStatus): boolean {
  return Object.keys(OFFER_TRANSITIONS[status]).length === 0;
}

/** The status after `decision`, or `offer_invalid_state`. */
export function nextOfferStatus(current: OfferStatus, decision: OfferDecision): OfferStatus {
  const moves: Partial<Record<OfferDecision, OfferStatus>> = OFFER_TRANSITIONS[current];
  const next = moves[decision];
  if (next === undefined) throw new RecruitmentError('offer_invalid_state', `The offer is ${current}: ${decision} is not allowed.`);
  return next;
}

/** A candidate's `name` as an employee's first and last name: the last word is the last name. */
export function splitName(name: string): { firstName: string; lastName: string } {
  const words = name.trim().split(/\s+/);
  if (words.length === 1) return { firstName: words[0]!, lastName: words[0]! };
  return { firstName: words.slice(0, -1).join(' '), lastName: words.at(-1)! };
}
