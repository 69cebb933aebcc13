import type { RedactionConfig } from '../tasks/task-schema.js';

// Redaction of personal data in stored text (never in what the client receives). Conservative
// patterns: better to miss an odd format than to mangle ordinary numbers such as order ids, so
// phone numbers need a separator or a leading '+', and card numbers must pass the Luhn check.

export type RedactionKind = RedactionConfig['kinds'][number];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// 13-19 digits, optionally grouped by single spaces or dashes.
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
// +CC then groups, or (area) / grouped North American and European forms with separators.
const PHONE = /(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}[ .-]\d{2,4}(?:[ .-]\d{2,4}){0,2}\b|\+\d{8,15}\b/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export interface RedactionResult {
  text: string;
  kinds: RedactionKind[];
}

export function redactText(text: string, config: RedactionConfig): RedactionResult {
  if (!config.enabled || text.length === 0) return { text, kinds: [] };
  const found = new Set<RedactionKind>();
  let out = text;
  if (config.kinds.includes('email')) {
    out = out.replace(EMAIL, () => {
      found.add('email');
      return '[EMAIL]';
    });
  }
  // Cards before phones: a grouped card number would otherwise look like a phone number.
  if (config.kinds.includes('card')) {
    out = out.replace(CARD, (m) => {
      const digits = m.replace(/[ -]/g, '');
      if (digits.length < 13 || !luhnValid(digits)) return m;
      found.add('card');
      return '[CARD]';
    });
  }
  if (config.kinds.includes('phone')) {
    out = out.replace(PHONE, (m) => {
      const digits = m.replace(/\D/g, '');
      if (digits.length < 7 || digits.length > 15) return m;
      found.add('phone');
      return '[PHONE]';
    });
  }
  return { text: out, kinds: [...found] };
}
