import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAIChatModel } from '../../src/adapters/openai/openai-chat-model.js';
import type { DatasetExample } from '../../src/core/distill/dataset-builder.js';
import { DEFAULT_LATENCY_BUDGETS_IN_MS, DEFAULT_MIN_AGREEMENT, gateSchema, resolveGate } from '../../src/core/distill/distill-settings.js';
import { decidePromotion, evaluateCandidate } from '../../src/core/distill/evaluate-candidate.js';
import { scoreAnswer } from '../../src/core/distill/task-types.js';
import { sentenceChrf } from '../../src/core/eval/chrf.js';
import type { ChatModel } from '../../src/core/ports.js';
import { taskSchema } from '../../src/core/tasks/task-schema.js';
import { startFakeOpenAIServer, type Fault, type FakeOpenAIServer } from '../fixtures/fake-openai-server.js';

// Gates per task kind: label tasks on label agreement (and accuracy when asked), math on the final
// number, free text on chrF / ROUGE-L with bars a teacher can meet against itself, and a latency
// budget per student hosting. Remote students answer through the real OpenAI client from a
// loopback server speaking the chat-completions wire format.

const servers: FakeOpenAIServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A remote student whose answer to each prompt is `answer(prompt)`, optionally slowed per request. */
async function remoteStudent(answer: (prompt: string) => string, fault?: () => Fault | undefined): Promise<ChatModel> {
  const server = await startFakeOpenAIServer({
    answer: (req) => ({ text: answer(String(req.body.messages.at(-1).content)), promptTokens: 5, completionTokens: 5 }),
    ...(fault ? { fault } : {}),
  });
  servers.push(server);
  return new OpenAIChatModel({ id: 'student-ft', model: 'student-ft', maxRetries: 0, client: new OpenAI({ baseURL: server.baseURL, apiKey: 'test', maxRetries: 0 }) });
}

const example = (i: number, prompt: string, target: string, extra: Partial<DatasetExample> = {}): DatasetExample => ({
  id: `p${i}`,
  promptHash: `h${i}`,
  split: 'test',
  messages: [{ role: 'user', content: prompt }],
  target,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const generativeTask = { config: taskSchema.parse({ name: 'gen', teacher: 'teacher' }) };
const gate = (over: object = {}) => gateSchema.parse(over);

describe('math is gated on exact match of the final number', () => {
  const test = range(60).map((i) => example(i, `q${i}: what is ${i} + ${i}?`, `Step 1: add ${i} and ${i} together.\nStep 2: the sum is ${2 * i}.\n#### ${2 * i}`));
  const numberOf = (prompt: string) => Number(/q(\d+):/.exec(prompt)![1]);

  it('promotes a student that reasons in other words but gets every number right', async () => {
    const student = await remoteStudent((p) => `Doubling ${numberOf(p)} gives ${2 * numberOf(p)}.\n#### ${2 * numberOf(p)}`);
    const evaluation = await evaluateCandidate({ task: generativeTask, test, candidate: student, gate: gate({ taskType: 'math' }) });
    expect(evaluation.gate).toMatchObject({ taskType: 'math', metric: 'exactMatch', minAgreement: DEFAULT_MIN_AGREEMENT.math });
    expect(evaluation.candidate.agreement).toBe(1);
    // chrF against the teacher's worked answer is far below the old 0.9 bar: the old gate rejected this student.
    const chrf = sentenceChrf(`Doubling 7 gives 14.\n#### 14`, [test[7]!.target]).score / 100;
    expect(chrf).toBeLessThan(0.9);
    const decision = decidePromotion(evaluation, gate({ taskType: 'math' }));
    expect(decision.promote).toBe(true);
    expect(decision.reasons[0]).toMatch(/exactMatch agreement with teacher \(math\) 1\.0000 ≥ 0\.7/);
  });

  it('rejects a student that copies the teacher\'s wording but gets the numbers wrong', async () => {
    const student = await remoteStudent((p) => `Step 1: add ${numberOf(p)} and ${numberOf(p)} together.\nStep 2: the sum is ${2 * numberOf(p) + 1}.\n#### ${2 * numberOf(p) + 1}`);
    const evaluation = await evaluateCandidate({ task: generativeTask, test, candidate: student, gate: gate({ taskType: 'math' }) });
    expect(evaluation.candidate.agreement).toBe(0);
    expect(evaluation.candidate.agreementInterval).toBeDefined();
    const decision = decidePromotion(evaluation, gate({ taskType: 'math' }));
    expect(decision.promote).toBe(false);
    expect(decision.reasons.join('\n')).toMatch(/exactMatch agreement with teacher \(math\) 0\.0000 < 0\.7/);
  });
});

describe('free text is gated on chrF or ROUGE-L with a bar the teacher can meet', () => {
  const teacherAnswer = (i: number) => `Your order number ${i} ships within two business days from our main warehouse.`;
  const studentAnswer = (i: number) => `Your order ${i} ships in two business days from our warehouse.`;
  const test = range(60).map((i) => example(i, `when does order ${i} ship?`, teacherAnswer(i)));
  const idOf = (p: string) => Number(/order (\d+)/.exec(p)![1]);

  it('conversation: a faithful paraphrase passes the default chrF bar (it failed chrF ≥ 0.9)', async () => {
    const student = await remoteStudent((p) => studentAnswer(idOf(p)));
    const evaluation = await evaluateCandidate({ task: generativeTask, test, candidate: student, gate: gate() });
    expect(evaluation.gate).toMatchObject({ taskType: 'conversation', metric: 'chrF', minAgreement: DEFAULT_MIN_AGREEMENT.conversation });
    const expected = sentenceChrf(studentAnswer(0), [teacherAnswer(0)]).score / 100;
    expect(evaluation.candidate.perExample[0]).toBeCloseTo(expected, 12);
    expect(evaluation.candidate.agreement).toBeGreaterThan(DEFAULT_MIN_AGREEMENT.conversation);
    expect(evaluation.candidate.agreement).toBeLessThan(0.9);
    expect(decidePromotion(evaluation, gate()).promote).toBe(true);
    // An explicit bar still wins over the default.
    const strict = decidePromotion(evaluation, gate({ minAgreement: 0.9 }));
    expect(strict.promote).toBe(false);
    expect(strict.reasons[0]).toMatch(/chrF agreement with teacher \(conversation\) 0\.\d+ < 0\.9/);
  });

  it('summarization is scored by ROUGE-L', async () => {
    const student = await remoteStudent((p) => studentAnswer(idOf(p)));
    const evaluation = await evaluateCandidate({ task: generativeTask, test, candidate: student, gate: gate({ taskType: 'summarization' }) });
    expect(evaluation.gate.metric).toBe('rougeL');
    expect(evaluation.candidate.perExample[3]).toBeCloseTo(scoreAnswer('summarization', studentAnswer(3), teacherAnswer(3)).rougeL!, 12);
    expect(evaluation.candidate.agreementInterval).toBeUndefined();
  });

  it('dataset jobs carry the spec\'s task type into the gate', async () => {
    const { taskConfigFromSpec } = await import('../../src/core/distill/dataset-jobs.js');
    const { parseDistillationSpec } = await import('../../src/core/distill/distillation-spec.js');
    const spec = parseDistillationSpec({
      task_type: 'math',
      teacher: 'teacher',
      student: { kind: 'remote', baseModel: 'Phi-4-mini-instruct' },
      training_data: { jsonl: range(20).map((i) => JSON.stringify({ prompt: `q${i}` })).join('\n') },
    });
    expect(taskConfigFromSpec(spec).distill.gate.taskType).toBe('math');
  });
});

describe('label tasks are gated on label agreement and, when asked, accuracy', () => {
  const labels = ['billing', 'shipping'];
  const test = range(60).map((i) => example(i, `m${i}`, labels[i % 2]!, { label: labels[i % 2]!, reference: i < 50 ? labels[i % 2]! : labels[(i + 1) % 2]! }));
  // An in-process student (the hosting of an ONNX classifier) that always agrees with the teacher.
  const inProcess: ChatModel = {
    id: 'intents@2',
    hosting: 'in-process',
    generate: async (req) => ({ text: labels[Number(String(req.messages.at(-1)!.content).slice(1)) % 2]!, usage: { promptTokens: 0, completionTokens: 0 }, finishReason: 'stop' }) as never,
    stream: () => {
      throw new Error('not used');
    },
  };
  const task = { config: taskSchema.parse({ name: 'intents', teacher: 'teacher' }), parseLabel: (t: string) => (labels.includes(t.trim()) ? t.trim() : null) };

  it('label agreement with a Wilson interval; accuracy against gold gates only when minAccuracy is set', async () => {
    const evaluation = await evaluateCandidate({ task, test, candidate: inProcess, gate: gate({ taskType: 'conversation' }) });
    // A label parser wins over a mis-set task type: labels are compared, not chrF.
    expect(evaluation.gate).toMatchObject({ metric: 'label', hosting: 'in-process', maxP95LatencyInMs: DEFAULT_LATENCY_BUDGETS_IN_MS.inProcess });
    expect(evaluation.candidate.agreement).toBe(1);
    expect(evaluation.candidate.accuracy).toMatchObject({ value: 50 / 60, n: 60 });
    expect(decidePromotion(evaluation, gate()).promote).toBe(true);
    const d = decidePromotion(evaluation, gate({ minAccuracy: 0.9 }));
    expect(d.promote).toBe(false);
    expect(d.reasons.join('\n')).toMatch(/accuracy 0\.8333 < 0\.9/);
    expect(decidePromotion(evaluation, gate({ minAccuracy: 0.8 })).promote).toBe(true);
    // No gold references: an accuracy bar cannot be checked, so it refuses visibly.
    const noGold = await evaluateCandidate({ task, test: test.map(({ reference: _r, ...e }) => e), candidate: inProcess, gate: gate() });
    expect(decidePromotion(noGold, gate({ minAccuracy: 0.5 })).reasons.join('\n')).toMatch(/no gold references/);
  });
});

describe('latency budgets per student hosting', () => {
  it('resolves 50 ms for in-process students and a remote budget for remote ones; an explicit budget wins', () => {
    expect(resolveGate(gate(), { labelled: true, hosting: 'in-process' }).maxP95LatencyInMs).toBe(50);
    expect(resolveGate(gate(), { labelled: false, hosting: 'remote' }).maxP95LatencyInMs).toBe(DEFAULT_LATENCY_BUDGETS_IN_MS.remote);
    expect(resolveGate(gate({ latencyBudgetsInMs: { remote: 3000 } }), { labelled: false, hosting: 'remote' }).maxP95LatencyInMs).toBe(3000);
    expect(resolveGate(gate({ maxP95LatencyInMs: 200 }), { labelled: false, hosting: 'remote' }).maxP95LatencyInMs).toBe(200);
  });

  it('a remote student answering in ~60 ms passes its budget (the old 50 ms default rejected every remote student)', async () => {
    const test = range(60).map((i) => example(i, `say hello ${i}`, `hello ${i}`));
    const student = await remoteStudent((p) => p.replace('say ', ''), () => ({ kind: 'delay', ms: 60 }));
    const evaluation = await evaluateCandidate({ task: generativeTask, test, candidate: student, gate: gate() });
    expect(evaluation.candidate.latency.p95InMs).toBeGreaterThan(50);
    const decision = decidePromotion(evaluation, gate());
    expect(decision.promote).toBe(true);
    expect(decision.reasons.join('\n')).toMatch(/≤ 10000 ms \(remote student budget\)/);
    const old = await evaluateCandidate({ task: generativeTask, test, candidate: student, gate: gate({ maxP95LatencyInMs: 50 }) });
    const rejected = decidePromotion(old, gate({ maxP95LatencyInMs: 50 }));
    expect(rejected.promote).toBe(false);
    expect(rejected.reasons.join('\n')).toMatch(/p95 latency [\d.]+ ms > 50 ms \(remote student budget\)/);
  });
});
