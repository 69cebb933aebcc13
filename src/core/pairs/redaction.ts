import type { ChatMessage } from '../chat/chat-request-schema.js';
import type { RedactionConfig } from '../tasks/task-schema.js';

// Redaction of personal data in stored text (never in what the client receives). Conservative
// rules: better to miss an odd format than to mangle ordinary numbers such as order ids, so phone
// numbers need a separator or a leading '+', card numbers must pass the Luhn check, and dates
// (2024-11-05, 05.11.2024) are not phone numbers.
//
// Every detector is a hand-written scanner, linear in the length of the text: an e-mail is found
// from its '@' (the local part is the run of address characters just before it, the domain the
// run just after; runs of different '@'s never overlap), cards and phones from a start position
// with a bounded look-ahead (at most 19 digits, at most 4 groups). The regular expressions used
// before backtracked: 195 KB without an '@' took 24.6 s, and a 3 MB prompt more than 10 minutes.
//
// Bounds: text beyond `maxFieldChars` per field is not stored (it is cut at a token boundary and
// replaced by a visible `[TRUNCATED: n characters not stored]` marker, and the pair is marked
// 'truncated'); once a record has spent `timeBudgetInMs` on redaction, its remaining fields are
// not stored either. Nothing is ever stored unredacted because it was too long or too slow.

export type RedactionKind = RedactionConfig['kinds'][number];
/** What `pair.redacted` lists: the kinds found, and 'truncated' when text was cut. */
export type RedactionMark = RedactionKind | 'truncated';

/** 256 Ki characters per field: a few ms of scanning; Cosmos items are capped at 2 MB anyway. */
export const DEFAULT_MAX_FIELD_CHARS = 256 * 1024;
/** Per record: after this much redaction time the remaining fields are dropped, not stored raw. */
export const DEFAULT_TIME_BUDGET_IN_MS = 250;
/** Characters redacted between two yields to the event loop (PairRedactor): about 1 ms. */
const SLICE_CHARS = 32 * 1024;

export interface RedactionResult {
  text: string;
  kinds: RedactionKind[];
  /** True when text beyond the cap was dropped. */
  truncated?: boolean;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number) => isDigit(c) || isAlpha(c);
/** `\w` of a regular expression: what a word boundary is measured against. */
const isWord = (c: number) => isAlnum(c) || c === 95;
/** Characters of an e-mail local part: [A-Za-z0-9._%+-]. */
const isLocal = (c: number) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isLabel = (c: number) => isAlnum(c) || c === 45;
const isPhoneSeparator = (c: number) => c === 32 || c === 46 || c === 45;
const isWhitespace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0;

/** Where a domain starting at `from` ends (labels, at least one dot, a TLD of ≥ 2 letters), or -1. */
function domainEnd(text: string, from: number): number {
  let i = from;
  let labels = 0;
  let best = -1;
  for (;;) {
    const start = i;
    while (isLabel(text.charCodeAt(i))) i++;
    if (i === start) break;
    if (labels > 0) {
      let k = start;
      while (k < i && isAlpha(text.charCodeAt(k))) k++;
      if (k - start >= 2) best = k;
    }
    labels++;
    if (text.charCodeAt(i) !== 46 || !isLabel(text.charCodeAt(i + 1))) break;
    i++;
  }
  return best;
}

function redactEmails(text: string, found: Set<RedactionKind>): string {
  let out = '';
  let copied = 0;
  let at = text.indexOf('@');
  while (at !== -1) {
    let start = at;
    // '@' is not a local-part character, so these backward runs never overlap: linear overall.
    while (start > copied && isLocal(text.charCodeAt(start - 1))) start--;
    const end = start < at ? domainEnd(text, at + 1) : -1;
    if (end > 0) {
      out += text.slice(copied, start) + '[EMAIL]';
      copied = end;
      found.add('email');
      at = text.indexOf('@', end);
    } else {
      at = text.indexOf('@', at + 1);
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

const luhnDouble = (d: number) => (d > 4 ? d * 2 - 9 : d * 2);

/**
 * End of the longest Luhn-valid card (13-19 digits, single ' ' or '-' between) at `i`, or -1.
 * Luhn doubles every second digit counted from the right; both parities are summed as digits
 * arrive, so each candidate length is checked in O(1).
 */
function cardAt(text: string, i: number): number {
  let j = i + 1;
  let digits = 1;
  let d = text.charCodeAt(i) - 48;
  let evenDoubled = luhnDouble(d);
  let oddDoubled = d;
  let best = -1;
  while (digits < 19) {
    if (isDigit(text.charCodeAt(j))) j++;
    else if ((text.charCodeAt(j) === 32 || text.charCodeAt(j) === 45) && isDigit(text.charCodeAt(j + 1))) j += 2;
    else break;
    d = text.charCodeAt(j - 1) - 48;
    if (digits % 2 === 0) {
      evenDoubled += luhnDouble(d);
      oddDoubled += d;
    } else {
      evenDoubled += d;
      oddDoubled += luhnDouble(d);
    }
    digits++;
    // The rightmost digit (index digits-1) is never doubled.
    const sum = (digits - 1) % 2 === 0 ? oddDoubled : evenDoubled;
    if (digits >= 13 && sum % 10 === 0 && !isWord(text.charCodeAt(j))) best = j;
  }
  return best;
}

function redactCards(text: string, found: Set<RedactionKind>): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    if (!isDigit(text.charCodeAt(i)) || (i > 0 && isWord(text.charCodeAt(i - 1)))) continue;
    const end = cardAt(text, i);
    if (end < 0) continue;
    out += text.slice(copied, i) + '[CARD]';
    copied = end;
    found.add('card');
    i = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Length of the digit run at `i`, counting at most `max + 1` digits. */
function digitRun(text: string, i: number, max: number): number {
  let n = 0;
  while (n <= max && i + n < text.length && isDigit(text.charCodeAt(i + n))) n++;
  return n;
}

const inRange = (text: string, from: number, len: number, lo: number, hi: number) => {
  const v = Number(text.slice(from, from + len));
  return v >= lo && v <= hi;
};

/** End of a date at `i` (YYYY-MM-DD, YYYY.MM.DD, DD.MM.YYYY, DD-MM-YYYY, MM/DD/YYYY…), or -1. */
export function dateAt(text: string, i: number): number {
  const a = digitRun(text, i, 4);
  const sep = text.charCodeAt(i + a);
  if (sep !== 45 && sep !== 46 && sep !== 47) return -1;
  const b = digitRun(text, i + a + 1, 2);
  if (b < 1 || b > 2 || text.charCodeAt(i + a + 1 + b) !== sep) return -1;
  const cFrom = i + a + 1 + b + 1;
  const c = digitRun(text, cFrom, 4);
  const end = cFrom + c;
  if (end < text.length && isDigit(text.charCodeAt(end))) return -1;
  const bFrom = i + a + 1;
  if (a === 4 && (c === 1 || c === 2)) {
    return inRange(text, i, 4, 1000, 2999) && inRange(text, bFrom, b, 1, 12) && inRange(text, cFrom, c, 1, 31) ? end : -1;
  }
  if ((a === 1 || a === 2) && c === 4) {
    const dayMonth = inRange(text, i, a, 1, 31) && inRange(text, bFrom, b, 1, 12);
    const monthDay = inRange(text, i, a, 1, 12) && inRange(text, bFrom, b, 1, 31);
    return (dayMonth || monthDay) && inRange(text, cFrom, 4, 1000, 2999) ? end : -1;
  }
  return -1;
}

/**
 * End of a phone number at `i`, or -1: `+CC` (1-3 digits) and `(area)` (1-4 digits) optional, then
 * 2-4 groups of 2-4 digits with single separators; or `+` and 8-15 digits. 7-15 digits in all,
 * and the number ends where a word ends. At most ~40 characters are examined.
 */
function phoneAt(text: string, i: number): number {
  let j = i;
  let digits = 0;
  let groups = 0;
  if (text.charCodeAt(j) === 43) {
    const run = digitRun(text, j + 1, 15);
    if (run >= 8 && run <= 15 && !isWord(text.charCodeAt(j + 1 + run))) return j + 1 + run;
    if (run < 1 || run > 7) return -1;
    j += 1 + run;
    digits += run;
    // Without a separator the country code runs into the first group (+1555 123 4567).
    if (run > 3) groups = 1;
    else if (isPhoneSeparator(text.charCodeAt(j)) && isDigit(text.charCodeAt(j + 1))) j++;
  }
  if (groups === 0 && text.charCodeAt(j) === 40) {
    const run = digitRun(text, j + 1, 4);
    if (run < 1 || run > 4 || text.charCodeAt(j + 1 + run) !== 41) return -1;
    digits += run;
    j += run + 2;
    if (isPhoneSeparator(text.charCodeAt(j)) && isDigit(text.charCodeAt(j + 1))) j++;
  }
  let best = -1;
  for (; groups < 4; groups++) {
    if (groups > 0) {
      if (!isPhoneSeparator(text.charCodeAt(j)) || !isDigit(text.charCodeAt(j + 1))) break;
      j++;
    }
    const run = digitRun(text, j, 4);
    if (run < 2 || run > 4) break;
    j += run;
    digits += run;
    if (groups >= 1 && digits >= 7 && digits <= 15 && !isWord(text.charCodeAt(j))) best = j;
  }
  return best;
}

function redactPhones(text: string, found: Set<RedactionKind>): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(isDigit(c) || c === 43 || c === 40) || (i > 0 && isDigit(text.charCodeAt(i - 1)))) continue;
    if (isDigit(c)) {
      const date = dateAt(text, i);
      if (date > 0) {
        i = date - 1;
        continue;
      }
    }
    const end = phoneAt(text, i);
    if (end < 0) continue;
    out += text.slice(copied, i) + '[PHONE]';
    copied = end;
    found.add('phone');
    i = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Where to cut `text` at or before `at` (not below `floor`) so that no e-mail, card or phone
 * straddles the cut: the partial last token is dropped, and so is a trailing run of digits and
 * phone punctuation. Returns `floor` when there is no such place.
 */
export function safeCut(text: string, at: number, floor = 0): number {
  let cut = at;
  // Never split a surrogate pair.
  if (cut > floor && (text.charCodeAt(cut - 1) & 0xfc00) === 0xd800) cut--;
  if (cut < text.length && !isWhitespace(text.charCodeAt(cut))) {
    while (cut > floor && !isWhitespace(text.charCodeAt(cut - 1))) cut--;
  }
  while (cut > floor && isPhoneTail(text.charCodeAt(cut - 1))) cut--;
  return cut;
}

const isPhoneTail = (c: number) => isDigit(c) || isWhitespace(c) || c === 43 || c === 40 || c === 41 || c === 45 || c === 46;

/** Applies the configured detectors to the whole of `text` (no cap). */
function redactKinds(text: string, kinds: readonly RedactionKind[], found: Set<RedactionKind>): string {
  let out = text;
  if (kinds.includes('email')) out = redactEmails(out, found);
  // Cards before phones: a grouped card number would otherwise look like a phone number.
  if (kinds.includes('card')) out = redactCards(out, found);
  if (kinds.includes('phone')) out = redactPhones(out, found);
  return out;
}

const truncationMarker = (dropped: number, why = '') => `[TRUNCATED: ${dropped} characters not stored${why}]`;
const withMarker = (kept: string, marker: string) => (kept ? `${kept} ${marker}` : marker);

/** The part of a field that is kept: at most `maxFieldChars`, cut where no datum straddles. */
function keptPart(text: string, config: RedactionConfig): string {
  const max = config.maxFieldChars ?? DEFAULT_MAX_FIELD_CHARS;
  return text.length > max ? text.slice(0, safeCut(text, max)) : text;
}

/** Redacts one text; text beyond `config.maxFieldChars` is dropped and marked, never stored raw. */
export function redactText(text: string, config: RedactionConfig): RedactionResult {
  if (!config.enabled || text.length === 0) return { text, kinds: [] };
  const kept = keptPart(text, config);
  const found = new Set<RedactionKind>();
  const out = redactKinds(kept, config.kinds, found);
  if (kept.length === text.length) return { text: out, kinds: [...found] };
  return { text: withMarker(out, truncationMarker(text.length - kept.length)), kinds: [...found], truncated: true };
}

/**
 * Redacts the texts of one pair record off the request's critical section: large fields are
 * redacted in slices of SLICE_CHARS, cut where no datum straddles, with a yield to the event loop
 * between slices, so a 4 MiB prompt never holds other requests for more than a few ms; once the
 * record has used its time budget, the rest of its text is dropped (and marked), not stored raw.
 */
export class PairRedactor {
  private readonly found = new Set<RedactionMark>();
  private readonly kinds = new Set<RedactionKind>();
  private readonly started: number;
  private sinceYield = 0;

  constructor(
    private readonly config: RedactionConfig,
    private readonly now: () => number = () => globalThis.performance.now(),
    private readonly yieldToLoop: () => Promise<void> = () => new Promise((resolve) => setTimeout(resolve, 0)),
  ) {
    this.started = now();
  }

  /** What was found and done, sorted, for `pair.redacted`. */
  get marks(): RedactionMark[] {
    return [...new Set<RedactionMark>([...this.found, ...this.kinds])].sort();
  }

  async text(text: string): Promise<string> {
    if (!this.config.enabled || text.length === 0) return text;
    const kept = keptPart(text, this.config);
    let out = '';
    let from = 0;
    while (from < kept.length) {
      // Slices end a little before SLICE_CHARS (at a safe cut): yield once half a slice is done.
      if (this.sinceYield >= SLICE_CHARS / 2) {
        this.sinceYield = 0;
        await this.yieldToLoop();
      }
      if (this.now() - this.started > (this.config.timeBudgetInMs ?? DEFAULT_TIME_BUDGET_IN_MS)) {
        this.found.add('truncated');
        return withMarker(out, truncationMarker(text.length - from, ', redaction time budget exceeded'));
      }
      // No safe place to cut (e.g. a long run of digits and spaces): the rest, ≤ the cap, at once.
      let cut = kept.length - from > SLICE_CHARS ? safeCut(kept, from + SLICE_CHARS, from) : kept.length;
      if (cut === from) cut = kept.length;
      out += redactKinds(kept.slice(from, cut), this.config.kinds, this.kinds);
      this.sinceYield += cut - from;
      from = cut;
    }
    if (kept.length === text.length) return out;
    this.found.add('truncated');
    return withMarker(out, truncationMarker(text.length - kept.length));
  }

  async message(m: ChatMessage): Promise<ChatMessage> {
    if (!('content' in m) || m.content == null) return m;
    if (typeof m.content === 'string') return { ...m, content: await this.text(m.content) } as ChatMessage;
    const parts: unknown[] = [];
    for (const p of m.content as { type: string; text?: string }[]) {
      parts.push(p.type === 'text' && typeof p.text === 'string' ? { ...p, text: await this.text(p.text) } : p);
    }
    return { ...m, content: parts } as ChatMessage;
  }
}
