import { describe, expect, it } from 'vitest';
import {
  CANDIDATE_STAGES, nextOfferStatus, nextStage, OFFER_DECISIONS, OFFER_STATUSES, RecruitmentError, splitName,
  type CandidateStage, type OfferStatus, type StageMover,
} from './recruitment.js';

/** Every legal move, written out by hand (not derived from the code under test). */
const LEGAL: Record<StageMover, [CandidateStage, CandidateStage][]> = {
  advance: [
    ['applied', 'screening'], ['screening', 'interview'], ['interview', 'offer'],
    ...(['applied', 'screening', 'interview', 'offer'] as const).flatMap((from) => [
      [from, 'rejected'], [from, 'withdrawn'],
    ] as [CandidateStage, CandidateStage][]),
  ],
  offer_accepted: [['offer', 'hired']],
};

const codeOf = (fn: () => unknown): string | null => {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof RecruitmentError) return err.code;
    throw err;
  }
};

describe('candidate stages', () => {
  for (const mover of ['advance', 'offer_accepted'] as const) {
    for (const from of CANDIDATE_STAGES) {
      for (const to of CANDIDATE_STAGES) {
        const legal = LEGAL[mover].some(([f, t]) => f === from && t === to);
        it(`${mover}: ${from} → ${to} is ${legal ? 'allowed' : 'refused (candidate_invalid_state)'}`, () => {
          if (legal) expect(nextStage(from, to, mover)).toBe(to);
          else expect(codeOf(() => nextStage(from, to, mover))).toBe('candidate_invalid_state');
        });
      }
    }
  }

  it('says whether a refused move skips or goes back', () => {
    expect(() => nextStage('applied', 'interview', 'advance')).toThrow(/skips a stage/);
    expect(() => nextStage('interview', 'screening', 'advance')).toThrow(/goes back/);
    expect(() => nextStage('offer', 'hired', 'advance')).toThrow(/accepting an offer/);
  });
});

describe('offer statuses', () => {
  const LEGAL_OFFER: [OfferStatus, string, OfferStatus][] = [
    ['awaiting_approval', 'approve', 'awaiting_candidate'], ['awaiting_approval', 'reject', 'rejected'],
    ['awaiting_approval', 'expire', 'expired'], ['awaiting_candidate', 'accept', 'accepted'],
    ['awaiting_candidate', 'decline', 'declined'], ['awaiting_candidate', 'expire', 'expired'],
  ];
  for (const from of OFFER_STATUSES) {
    for (const decision of OFFER_DECISIONS) {
      const legal = LEGAL_OFFER.find(([f, d]) => f === from && d === decision);
      it(`${from} + ${decision} → ${legal ? legal[2] : 'offer_invalid_state'}`, () => {
        if (legal) expect(nextOfferStatus(from, decision)).toBe(legal[2]);
        else expect(codeOf(() => nextOfferStatus(from, decision))).toBe('offer_invalid_state');
      });
    }
  }
});

describe('splitName', () => {
  it('takes the last word as the last name', () => {
    expect(splitName('  Ada  King Lovelace ')).toEqual({ firstName: 'Ada King', lastName: 'Lovelace' });
    expect(splitName('Plato')).toEqual({ firstName: 'Plato', lastName: 'Plato' });
  });
});
