import type { PairRecord } from '../../src/core/pairs/pair-record.js';
import { createRandom, randomNormal } from '../../src/core/eval/random.js';

// Seeded synthetic pair records for the report tests, the dashboard test and the online-report
// benchmark: a classification task (teacher DeepSeek-V3, in-process ONNX student) and a chat task
// (teacher gpt-4o, Phi-4-mini student), with shadow traffic, some errors, gold references on part
// of the classification pairs, and student agreement that drifts down over the window.

export interface SeedOptions {
  count: number;
  seed?: number;
  start?: string;
  spanInMs?: number;
  tenants?: string[];
}

const INTENTS = ['balance', 'transfer', 'card_lost', 'pin_change', 'bill_pay', 'freeze_account', 'direct_deposit', 'oos'];
const WORDS = (
  'you can reset your password from the account settings page then choose security and follow the steps ' +
  'we will send a code to your phone or email address please contact support if the link expires after ten minutes ' +
  'your order ships within two business days and tracking details arrive by email once the carrier scans the parcel'
).split(' ');

export function generatePairs(options: SeedOptions): PairRecord[] {
  const random = createRandom(options.seed ?? 1);
  const start = Date.parse(options.start ?? '2026-11-01T00:00:00.000Z');
  const span = options.spanInMs ?? 7 * 86_400_000;
  const tenants = options.tenants ?? ['acme'];
  const out: PairRecord[] = [];
  const logNormal = (median: number, sigma: number) => median * Math.exp(sigma * randomNormal(random));
  for (let i = 0; i < options.count; i++) {
    const at = start + Math.floor((i / options.count) * span);
    const progress = i / options.count;
    const tenant = tenants[i % tenants.length]!;
    const classification = random() < 0.5;
    const studentServes = random() < 0.7;
    // The teacher shadows a fifth of the student's traffic (the agreement sample); otherwise only
    // the arm that served runs.
    const teacherRuns = !studentServes || random() < 0.2;
    const base = {
      id: `p${i.toString().padStart(7, '0')}`,
      tenant,
      createdAt: new Date(at).toISOString(),
      servedArm: (studentServes ? 'student' : 'teacher') as PairRecord['servedArm'],
      reason: studentServes ? 'ab:student' : 'ab:teacher',
      policy: 'weighted',
    };
    if (classification) {
      const teacherLabel = INTENTS[Math.floor(random() * INTENTS.length)]!;
      // Agreement drifts from ~94% to ~84% across the window.
      const agrees = random() < 0.94 - 0.1 * progress;
      const studentLabel = agrees ? teacherLabel : INTENTS[(INTENTS.indexOf(teacherLabel) + 1) % INTENTS.length]!;
      const hasGold = random() < 0.3;
      const gold = random() < 0.95 ? teacherLabel : studentLabel;
      const studentError = random() < 0.01;
      out.push({
        ...base,
        task: 'bank-intents',
        request: { messages: [{ role: 'user', content: `request ${i}` }], params: {} },
        ...(teacherRuns
          ? {
              teacher: {
                model: 'DeepSeek-V3',
                text: teacherLabel,
                usage: { promptTokens: 120, completionTokens: 3 },
                latencyInMs: logNormal(3200, 0.25),
                role: studentServes ? ('shadow' as const) : ('served' as const),
              },
            }
          : {}),
        student: {
          model: 'bank-intents@3',
          text: studentLabel,
          latencyInMs: logNormal(12, 0.3),
          confidence: 0.9,
          role: studentServes ? 'served' : 'shadow',
          ...(studentError ? { error: { status: 500, code: 'onnx_error', message: 'inference failed' } } : {}),
        },
        labels: { teacher: teacherRuns ? teacherLabel : null, student: studentError ? null : studentLabel, usableForTraining: teacherRuns },
        source: { kind: 'traffic', ...(hasGold ? { reference: gold } : {}) },
      });
    } else {
      const len = 25 + Math.floor(random() * 15);
      const offset = Math.floor(random() * (WORDS.length - len));
      const teacherWords = WORDS.slice(offset, offset + len);
      const studentWords = teacherWords.map((w) => (random() < 0.15 + 0.1 * progress ? WORDS[Math.floor(random() * WORDS.length)]! : w));
      const exact = random() < 0.2;
      out.push({
        ...base,
        task: 'support-chat',
        request: { messages: [{ role: 'user', content: `question ${i}` }], params: {} },
        ...(teacherRuns
          ? {
              teacher: {
                model: 'gpt-4o-2024-08-06',
                text: teacherWords.join(' '),
                usage: { promptTokens: 400, completionTokens: len * 2 },
                latencyInMs: logNormal(2800, 0.3),
                role: studentServes ? ('shadow' as const) : ('served' as const),
              },
            }
          : {}),
        student: {
          model: 'Phi-4-mini-instruct',
          text: exact ? teacherWords.join(' ') : studentWords.join(' '),
          usage: { promptTokens: 400, completionTokens: len * 2 },
          latencyInMs: logNormal(450, 0.25),
          role: studentServes ? 'served' : 'shadow',
        },
        source: { kind: 'traffic' },
      });
    }
  }
  return out;
}
