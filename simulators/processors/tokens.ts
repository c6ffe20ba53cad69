/**
 * The simulated processors' test tokens (../shared/CONTRACT.md §3). A token decides the outcome of
 * an authorization and, for a few, how the processor misbehaves around it.
 */
export const SIM_PROCESSORS = ['acq_primary', 'acq_secondary', 'bank_sim'] as const;
export type SimProcessor = (typeof SIM_PROCESSORS)[number];
export type PaymentMethodType = 'card' | 'bank_transfer';

/** Card acquirers take cards; the bank takes bank transfers. */
export const METHOD_OF: Record<SimProcessor, PaymentMethodType> = {
  acq_primary: 'card',
  acq_secondary: 'card',
  bank_sim: 'bank_transfer',
};

export interface TokenBehaviour {
  method: PaymentMethodType;
  approve: boolean;
  failureCode?: string;
  declineCode?: string;
  brand?: string;
  last4?: string;
  /** Processors that answer 500 and record nothing for this token. */
  errorsAt?: readonly SimProcessor[];
  /** The authorization succeeds, every capture of it is declined for good. */
  captureFails?: boolean;
  /** The first authorization with a given key is recorded, then its connection is destroyed. */
  losesFirstResponse?: boolean;
}

const TOKENS: Record<string, TokenBehaviour> = {
  tok_visa: { method: 'card', approve: true, brand: 'visa', last4: '4242' },
  tok_mastercard: { method: 'card', approve: true, brand: 'mastercard', last4: '4444' },
  tok_card_declined: { method: 'card', approve: false, failureCode: 'card_declined', brand: 'visa', last4: '0002' },
  tok_insufficient_funds: {
    method: 'card', approve: false, failureCode: 'card_declined', declineCode: 'insufficient_funds', brand: 'visa', last4: '9995',
  },
  tok_expired_card: { method: 'card', approve: false, failureCode: 'expired_card', brand: 'visa', last4: '0069' },
  tok_processor_error: { method: 'card', approve: true, brand: 'visa', last4: '4242', errorsAt: ['acq_primary'] },
  tok_capture_fails: { method: 'card', approve: true, brand: 'visa', last4: '0341', captureFails: true },
  tok_lost_response: { method: 'card', approve: true, brand: 'visa', last4: '4242', losesFirstResponse: true },
  btok_success: { method: 'bank_transfer', approve: true, last4: '6789' },
  btok_insufficient_funds: {
    method: 'bank_transfer', approve: false, failureCode: 'bank_declined', declineCode: 'insufficient_funds', last4: '1116',
  },
};

/** A token the processor never issued is declined, as a real one would: nothing to charge. */
export function behaviourOf(token: string, method: PaymentMethodType): TokenBehaviour {
  const known = TOKENS[token];
  if (known && known.method === method) return known;
  const failureCode = method === 'card' ? 'card_declined' : 'bank_declined';
  return { method, approve: false, failureCode, declineCode: 'unknown_token' };
}
