import { describe, expect, it } from 'vitest';
import { PairRedactor, redactText, safeCut } from '../../src/core/pairs/redaction.js';
import type { RedactionConfig } from '../../src/core/tasks/task-schema.js';

// What redaction finds and what it leaves alone, the per-field cap and the per-record time budget.

const all: RedactionConfig = { enabled: true, kinds: ['email', 'phone', 'card'] };
const redact = (text: string, config: RedactionConfig = all) => redactText(text, config).text;

describe('detectors', () => {
  it('finds e-mails, cards (Luhn) and phones in their usual forms', () => {
    expect(redact('mail jane.doe+tag@mail.example.co.uk now')).toBe('mail [EMAIL] now');
    expect(redact('card 4111 1111 1111 1111 and 4111-1111-1111-1111 and 4111111111111111.')).toBe('card [CARD] and [CARD] and [CARD].');
    for (const phone of ['+44 20 7946 0958', '(555) 123-4567', '+1 555-123-4567', '+15551234567', '+1555 123 4567', '555.123.4567', '030 1234 5678']) {
      expect(redact(`call ${phone} today`), phone).toBe('call [PHONE] today');
    }
  });
  it('leaves ordinary numbers alone: order ids, versions, addresses, non-Luhn digits', () => {
    for (const text of ['order 12345678', 'v1.2.3', 'ip 192.168.1.10', 'ref 1234567812345678', 'x@localhost', 'total 1 234']) {
      expect(redact(text), text).toBe(text);
    }
  });
  it('dates are not phone numbers (issue #14, row 11)', () => {
    const text = 'due 2024-11-05, 2024/11/05, 05.11.2024, 11/05/2024, 2024.11.05 and 2024-11-05 10:30';
    expect(redactText(text, all)).toEqual({ text, kinds: [] });
    // A phone next to a date is still found.
    expect(redact('on 2024-11-05 call 555-123-4567')).toBe('on 2024-11-05 call [PHONE]');
  });
  it('reports the kinds it found and honours the configured kinds', () => {
    expect(redactText('a@b.io 555-123-4567', all).kinds.sort()).toEqual(['email', 'phone']);
    expect(redact('a@b.io 555-123-4567', { enabled: true, kinds: ['phone'] })).toBe('a@b.io [PHONE]');
    expect(redact('a@b.io', { enabled: false, kinds: ['email'] })).toBe('a@b.io');
  });
});

describe('per-field cap', () => {
  it('drops text beyond the cap, visibly, and never keeps a datum cut in half', () => {
    const head = 'x'.repeat(1000) + ' mail jane.doe@example.com call +44 20 7946 0958';
    const text = head + ' tail'.repeat(1000);
    const r = redactText(text, { ...all, maxFieldChars: 1015 });
    // The cut falls inside the e-mail: the partial address is dropped, not stored.
    expect(r.text).toMatch(/^x{1000} mail \[TRUNCATED: \d+ characters not stored\]$/);
    expect(r.text).not.toContain('jane');
    expect(r.truncated).toBe(true);
    const r2 = redactText(text, { ...all, maxFieldChars: head.indexOf('7946') + 2 });
    expect(r2.text).not.toMatch(/\+44|7946/);
  });
  it('safeCut backs off over a partial token and a trailing run of digits and phone punctuation', () => {
    const text = 'call me on +44 20 7946 0958 please';
    const cut = safeCut(text, text.indexOf('7946') + 2);
    expect(text.slice(0, cut)).toBe('call me on');
  });
});

describe('PairRedactor', () => {
  it('redacts messages and outputs, yields between slices of large fields, and marks truncation', async () => {
    let yields = 0;
    const r = new PairRedactor({ ...all, maxFieldChars: 200_000 }, () => 0, async () => void yields++);
    const big = 'lorem ipsum dolor a@b.io '.repeat(10_000); // 250,000 characters
    const m = await r.message({ role: 'user', content: [{ type: 'text', text: big }] } as never);
    const stored = (m as { content: { text: string }[] }).content[0]!.text;
    expect(stored).not.toContain('a@b.io');
    expect(stored).toMatch(/\[TRUNCATED: \d+ characters not stored\]$/);
    expect(yields).toBeGreaterThanOrEqual(5);
    expect(r.marks).toEqual(['email', 'truncated']);
  });
  it('drops, never stores raw, what is left once the time budget is spent', async () => {
    let t = 0;
    const r = new PairRedactor({ ...all, timeBudgetInMs: 100 }, () => t, async () => undefined);
    expect(await r.text('first a@b.io')).toBe('first [EMAIL]');
    t = 101;
    const late = await r.text('second jane@example.com');
    expect(late).toBe('[TRUNCATED: 23 characters not stored, redaction time budget exceeded]');
    expect(r.marks).toEqual(['email', 'truncated']);
  });
});
