/**
 * Card data must never reach our storage (PCI DSS): clients send processor tokens, and free text
 * (descriptions, metadata, reasons, template data) must not carry a card number (PAN). This module
 * recognises both, in time linear in the input, so a 64 KiB body cannot stall the event loop.
 */

/** Card numbers are 12 (some Maestro) to 19 digits long (ISO/IEC 7812). */
export const PAN_DIGITS_MIN = 12;
export const PAN_DIGITS_MAX = 19;
/** At most this many separator characters between two digits of one number (`4242 - 4242`: 3, not joined). */
const SEPARATOR_RUN_MAX = 2;

/** Characters people type between the digit groups of a card number: space (also tab, NBSP), dot, dash. */
function isSeparator(ch: number): boolean {
  return ch === 0x20 || ch === 0x09 || ch === 0xa0 || ch === 0x2e || ch === 0x2d;
}

function isDigit(ch: number): boolean {
  return ch >= 0x30 && ch <= 0x39;
}

/** The Luhn (mod 10) check digit test every card number passes. `digits`: ASCII digits only. */
export function luhnValid(digits: string): boolean {
  if (digits.length === 0) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 0x30;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * The groups of one run of digits, in flat arrays (a 64 KiB body can hold 32 K groups): group `g`
 * is `digits[starts[g]..ends[g])`, followed by separator text encoded as a number (0 after the last).
 */
interface Run {
  digits: Uint8Array;
  starts: number[];
  ends: number[];
  separators: number[];
  /** Per group: whether it is glued by `-` or `.` to a letter or digit before it / after it (see `gluedAt`). */
  gluedBefore: boolean[];
  gluedAfter: boolean[];
  /** Per group: whether a letter touches it before it / after it (`c72-6926605817c` in a UUID). */
  letterBefore: boolean[];
  letterAfter: boolean[];
}

function isLetter(ch: number): boolean {
  return (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a);
}

function isAlphanumeric(ch: number): boolean {
  return isDigit(ch) || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a);
}

/**
 * Whether the text at `i` (the character just outside a digit group, stepping by `step`) is a `-`
 * or `.` followed by a letter or digit: the group is then part of a longer hyphenated or dotted
 * token (a UUID, a version, a date), and a card number is written as a number of its own.
 */
function gluedAt(text: string, i: number, step: 1 | -1): boolean {
  const ch = text.charCodeAt(i);
  if (ch !== 0x2d && ch !== 0x2e) return false;
  const next = i + step;
  return next >= 0 && next < text.length && isAlphanumeric(text.charCodeAt(next));
}

/**
 * True when some consecutive groups of the run, joined by one and the same separator (card numbers
 * are written `4242 4242 4242 4242` or `4242-4242-…`, never mixing), hold 12 to 19 digits in all
 * and pass Luhn. A group of more than 19 digits is no card number. Windows grow leftwards from each
 * end group, so the Luhn sum (weighted from the right) grows by addition and each window costs at
 * most 19 digits: linear in the run.
 */
function runHoldsPan(run: Run): boolean {
  const { digits, starts, ends, separators, gluedBefore, gluedAfter, letterBefore, letterAfter } = run;
  for (let last = 0; last < starts.length; last++) {
    if (gluedAfter[last]) continue;
    const separator = last > 0 ? separators[last - 1]! : 0;
    let sum = 0;
    let count = 0;
    for (let g = last; g >= 0; g--) {
      if (g < last && separators[g] !== separator) break;
      const start = starts[g]!;
      const end = ends[g]!;
      if (count + end - start > PAN_DIGITS_MAX) break;
      for (let k = end - 1; k >= start; k--, count++) {
        const d = digits[k]!;
        sum += count % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d;
      }
      // Digits inside a word (`card4242…`) count alone; grouped with separators, the groups stand alone.
      const partOfWord = g < last && (letterBefore[g] || letterAfter[last]);
      if (count >= PAN_DIGITS_MIN && sum % 10 === 0 && !gluedBefore[g] && !partOfWord) return true;
    }
  }
  return false;
}

/**
 * True when `text` contains what looks like a card number: 12 to 19 digits, possibly grouped with
 * spaces, dots or dashes (one kind per number, at most two characters between groups), that pass
 * the Luhn check. Embedded in text too (`card4242424242424242`, `tok_4242…`). A run of 20 digits,
 * or 11, is not one; neither is a 16-digit run that fails Luhn, nor digits glued by `-` or `.` to
 * more letters or digits (UUIDs, versions, `2026-12-24`: a card number is a number of its own —
 * without this, about one random UUID in 200 would be refused).
 *
 * @example containsCardNumber('paid with 4242 4242 4242 4242') // true
 */
export function containsCardNumber(text: string): boolean {
  const run: Run = {
    digits: new Uint8Array(text.length), starts: [], ends: [], separators: [], gluedBefore: [], gluedAfter: [], letterBefore: [], letterAfter: [],
  };
  let length = 0; // digits of the current run
  let groupStart = 0;
  let groupTextStart = 0;
  // `i` is the index just after the group's last digit.
  const endGroup = (separator: number, i: number) => {
    run.starts.push(groupStart);
    run.ends.push(length);
    run.separators.push(separator);
    run.gluedBefore.push(groupTextStart > 0 && gluedAt(text, groupTextStart - 1, -1));
    run.gluedAfter.push(i < text.length && gluedAt(text, i, 1));
    run.letterBefore.push(groupTextStart > 0 && isLetter(text.charCodeAt(groupTextStart - 1)));
    run.letterAfter.push(i < text.length && isLetter(text.charCodeAt(i)));
    groupStart = length;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (isDigit(ch)) {
      if (length === groupStart) groupTextStart = i;
      run.digits[length++] = ch - 0x30;
      i++;
      continue;
    }
    if (length > groupStart) {
      // A separator run joins this group to the next only when a digit follows it closely.
      let j = i;
      let separator = 0;
      while (j < text.length && j - i < SEPARATOR_RUN_MAX && isSeparator(text.charCodeAt(j))) separator = separator * 0x10000 + text.charCodeAt(j++);
      if (j > i && j < text.length && isDigit(text.charCodeAt(j))) {
        endGroup(separator, i);
        i = j;
        continue;
      }
      endGroup(0, i);
      if (runHoldsPan(run)) return true;
      run.starts.length = run.ends.length = run.separators.length = run.gluedBefore.length = run.gluedAfter.length = run.letterBefore.length = run.letterAfter.length = 0;
      length = groupStart = 0;
    }
    i++;
  }
  if (length > groupStart) endGroup(0, text.length);
  return run.starts.length > 0 && runHoldsPan(run);
}

/**
 * Where in a JSON value (objects, arrays, strings, numbers) a card number appears: the path to the
 * first string or number that holds one (a key holding one names its object), or null. Iterative,
 * with parent links instead of copied paths: any nesting depth, linear in the value's size.
 */
export function findCardNumberIn(value: unknown): PropertyKey[] | null {
  interface Node { value: unknown; key: PropertyKey; parent: Node | null }
  const pathOf = (node: Node): PropertyKey[] => {
    const path: PropertyKey[] = [];
    for (let n: Node | null = node; n?.parent; n = n.parent) path.push(n.key);
    return path.reverse();
  };
  const stack: Node[] = [{ value, key: '', parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string' || typeof v === 'number') {
      if (containsCardNumber(String(v))) return pathOf(node);
    } else if (Array.isArray(v)) {
      for (let k = v.length - 1; k >= 0; k--) stack.push({ value: v[k], key: k, parent: node });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.some(([key]) => containsCardNumber(key))) return pathOf(node);
      for (let k = entries.length - 1; k >= 0; k--) stack.push({ value: entries[k]![1], key: entries[k]![0], parent: node });
    }
  }
  return null;
}

/** Processor tokens (contract §3): `tok_…` for cards, `btok_…` for bank accounts. */
export type TokenKind = 'card' | 'bank';
const TOKEN_SHAPES: Record<TokenKind, RegExp> = {
  card: /^tok_[A-Za-z0-9_]{1,250}$/,
  bank: /^btok_[A-Za-z0-9_]{1,250}$/,
};
export const TOKEN_EXAMPLES: Record<TokenKind, string> = { card: 'tok_visa', bank: 'btok_success' };

/** A processor token of this kind: the right prefix, letters, digits and `_`, and no card number inside. */
export function isProcessorToken(kind: TokenKind, value: string): boolean {
  return TOKEN_SHAPES[kind].test(value) && !containsCardNumber(value);
}
