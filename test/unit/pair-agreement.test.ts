import { describe, expect, it } from 'vitest';
import { agreementKind, pairAgreement } from '../../src/core/pairs/pair-agreement.js';
import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { createTaskCatalog } from '../../src/core/tasks/task-catalog.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';

// One definition of "agreement of a pair" (#13 item 4): one normalisation per task kind.

const pair = (teacher: string | undefined, student: string | undefined, extra: Partial<PairRecord> = {}): PairRecord => ({
  id: 'p',
  task: 't',
  tenant: 'a',
  createdAt: '2026-01-01T00:00:00.000Z',
  request: { messages: [{ role: 'user', content: 'q' }], params: {} },
  servedArm: 'student',
  reason: 'shadow: student serves, teacher shadows',
  policy: 'shadow',
  ...(teacher !== undefined ? { teacher: { model: 'T', text: teacher, latencyInMs: 1, role: 'shadow' as const } } : {}),
  ...(student !== undefined ? { student: { model: 'S', text: student, latencyInMs: 1, role: 'served' as const } } : {}),
  source: { kind: 'traffic' },
  ...extra,
});

const catalog = createTaskCatalog([
  taskSchema.parse({ name: 'labels', teacher: 'x', classification: { labels: ['card_lost', 'balance'] } }),
  taskSchema.parse({ name: 'math', teacher: 'x', distill: { gate: { taskType: 'math' } } }),
  taskSchema.parse({ name: 'chat', teacher: 'x' }),
]);

describe('pairAgreement', () => {
  it('labels: parsed label equality; an unparseable student label disagrees, an unparseable teacher one is not comparable', () => {
    const task = catalog.get('labels')!;
    expect(agreementKind(task)).toBe('label');
    expect(pairAgreement(pair('Card lost.', 'card_lost'), task)).toBe('agree');
    expect(pairAgreement(pair('balance', 'card_lost'), task)).toBe('disagree');
    expect(pairAgreement(pair('balance', 'no idea'), task)).toBe('disagree');
    expect(pairAgreement(pair('no idea', 'balance'), task)).toBe('not_comparable');
    // Stored labels (parsed when the pair was written) win over re-parsing.
    expect(pairAgreement(pair('x', 'y', { labels: { teacher: 'balance', student: 'balance', usableForTraining: true } }), task)).toBe('agree');
  });

  it('math: the final number, whatever the working', () => {
    const task = catalog.get('math')!;
    expect(agreementKind(task)).toBe('number');
    expect(pairAgreement(pair('3 + 4 = 7, so 7 * 2 = 14\n#### 14', 'The answer is $14.00'), task)).toBe('agree');
    expect(pairAgreement(pair('#### 1,200', 'so 1200'), task)).toBe('agree');
    expect(pairAgreement(pair('#### 14', 'the answer is 15'), task)).toBe('disagree');
    expect(pairAgreement(pair('I cannot say', '14'), task)).toBe('not_comparable');
  });

  it('free text: SQuAD-normalised exact match (case, punctuation, articles, whitespace)', () => {
    const task = catalog.get('chat')!;
    expect(agreementKind(task)).toBe('text');
    expect(pairAgreement(pair('The capital is Paris.', 'capital is  paris'), task)).toBe('agree');
    expect(pairAgreement(pair('Paris', 'London'), task)).toBe('disagree');
    expect(pairAgreement(pair('   ', 'London'), task)).toBe('not_comparable');
  });

  it('a missing or failed arm is not comparable', () => {
    expect(pairAgreement(pair('a', undefined))).toBe('not_comparable');
    const failed = pair('a', 'a');
    failed.student!.error = { status: 500, code: 'x', message: 'x' };
    expect(pairAgreement(failed)).toBe('not_comparable');
  });
});
