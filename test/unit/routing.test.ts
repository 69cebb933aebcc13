import { describe, expect, it } from 'vitest';
import { decideRoute } from '../../src/core/routing/decide-route.js';
import { routingSchema, type RoutingConfig } from '../../src/core/routing/policy-schema.js';
import { stickyBucket } from '../../src/core/routing/sticky-bucket.js';
import { createRandom } from '../../src/core/eval/random.js';

const routing = (policy: unknown, extra: Record<string, unknown> = {}): RoutingConfig => routingSchema.parse({ policy, ...extra });

// Seeded so statistical assertions are reproducible.
const seeded = (seed: number) => createRandom(seed);

describe('policy schema', () => {
  it('rejects weights outside [0, 1] and unknown policy types', () => {
    expect(routingSchema.safeParse({ policy: { type: 'split', studentWeight: 1.5 } }).success).toBe(false);
    expect(routingSchema.safeParse({ policy: { type: 'roulette' } }).success).toBe(false);
    expect(routingSchema.safeParse({ policy: { type: 'cascade' } }).success).toBe(false);
  });
  it('fills defaults', () => {
    expect(routing({ type: 'shadow' })).toEqual({
      policy: { type: 'shadow', serve: 'teacher', sampleRate: 1 },
      fallback: true,
      timeoutInMs: 60_000,
    });
  });
});

describe('pinned', () => {
  it('serves the pinned arm with the other as fallback', () => {
    const d = decideRoute(routing({ type: 'pinned', arm: 'student' }), { studentAvailable: true }, Math.random);
    expect(d).toMatchObject({ primary: 'student', fallback: 'teacher', policy: 'pinned' });
    expect(d.shadow).toBeUndefined();
  });
  it('sends everything to the teacher while no student exists', () => {
    const d = decideRoute(routing({ type: 'pinned', arm: 'student' }), { studentAvailable: false }, Math.random);
    expect(d).toMatchObject({ primary: 'teacher', policy: 'no-student' });
    expect(d.fallback).toBeUndefined();
  });
  it('has no fallback when fallback is disabled', () => {
    const d = decideRoute(routing({ type: 'pinned', arm: 'teacher' }, { fallback: false }), { studentAvailable: true }, Math.random);
    expect(d.fallback).toBeUndefined();
  });
});

describe('split', () => {
  const policy = routing({ type: 'split', studentWeight: 0.1 });

  it('puts the configured share of 10k users on the student, within tolerance', () => {
    let students = 0;
    for (let i = 0; i < 10_000; i++) {
      if (decideRoute(policy, { user: `user-${i}`, studentAvailable: true }, () => 0.99).primary === 'student') students++;
    }
    // Binomial sd at n=10k, p=0.1 is 0.3%; 1% tolerance is over three sd.
    expect(students / 10_000).toBeGreaterThan(0.09);
    expect(students / 10_000).toBeLessThan(0.11);
  });

  it('is sticky: one user always gets the same arm, whatever the random source', () => {
    for (let i = 0; i < 200; i++) {
      const user = `sticky-${i}`;
      const first = decideRoute(policy, { user, studentAvailable: true }, seeded(i)).primary;
      for (let j = 0; j < 5; j++) expect(decideRoute(policy, { user, studentAvailable: true }, seeded(1000 + j)).primary).toBe(first);
    }
  });

  it('can key on a metadata field and salts experiments apart', () => {
    const byOrg = routing({ type: 'split', studentWeight: 0.5, stickyKey: { metadata: 'org' } });
    const a = decideRoute(byOrg, { metadata: { org: 'contoso' }, studentAvailable: true }, () => 0).primary;
    const b = decideRoute(byOrg, { metadata: { org: 'contoso' }, user: 'other', studentAvailable: true }, () => 0.9).primary;
    expect(a).toBe(b);
    const plain = routing({ type: 'split', studentWeight: 0.5 });
    const salted = routing({ type: 'split', studentWeight: 0.5, salt: 'exp-2' });
    let differ = 0;
    for (let i = 0; i < 1000; i++) {
      const u = { user: `u${i}`, studentAvailable: true };
      if (decideRoute(plain, u, Math.random).primary !== decideRoute(salted, u, Math.random).primary) differ++;
    }
    expect(differ).toBeGreaterThan(400);
    expect(differ).toBeLessThan(600);
  });

  it('falls back to the random source without a sticky key', () => {
    expect(decideRoute(policy, { studentAvailable: true }, () => 0.05).primary).toBe('student');
    expect(decideRoute(policy, { studentAvailable: true }, () => 0.5).primary).toBe('teacher');
  });

  it('maps keys uniformly into [0, 1)', () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++) buckets[Math.floor(stickyBucket(`k${i}`) * 10)]++;
    for (const b of buckets) expect(Math.abs(b - 5000)).toBeLessThan(300);
  });
});

describe('shadow', () => {
  it('serves one arm and shadows the other', () => {
    const d = decideRoute(routing({ type: 'shadow', serve: 'teacher' }), { studentAvailable: true }, Math.random);
    expect(d).toMatchObject({ primary: 'teacher', shadow: 'student', fallback: 'student' });
  });
  it('samples the configured share', () => {
    const policy = routing({ type: 'shadow', serve: 'student', sampleRate: 0.25 });
    const rnd = seeded(7);
    let shadowed = 0;
    for (let i = 0; i < 10_000; i++) if (decideRoute(policy, { studentAvailable: true }, rnd).shadow) shadowed++;
    expect(shadowed / 10_000).toBeGreaterThan(0.23);
    expect(shadowed / 10_000).toBeLessThan(0.27);
  });
});

describe('cascade', () => {
  it('asks the student first with the threshold', () => {
    const d = decideRoute(routing({ type: 'cascade', threshold: 0.7 }), { studentAvailable: true }, Math.random);
    expect(d).toMatchObject({ primary: 'student', cascade: { threshold: 0.7, escalateOnInvalid: true }, fallback: 'teacher' });
    expect(d.shadow).toBeUndefined();
  });
  it('shadows the teacher on the sampled share', () => {
    const d = decideRoute(routing({ type: 'cascade', threshold: 0.7, shadowSampleRate: 0.5 }), { studentAvailable: true }, () => 0.1);
    expect(d.shadow).toBe('teacher');
  });
});

describe('forced arm and purity', () => {
  it('honours a forced arm', () => {
    const d = decideRoute(routing({ type: 'pinned', arm: 'teacher' }), { forcedArm: 'student', studentAvailable: true }, Math.random);
    expect(d).toMatchObject({ primary: 'student', policy: 'forced' });
  });
  it('never mutates its inputs', () => {
    const r = routing({ type: 'split', studentWeight: 0.3 });
    const ctx = { user: 'x', metadata: { a: 'b' }, studentAvailable: true };
    const before = JSON.stringify([r, ctx]);
    decideRoute(Object.freeze(r), Object.freeze(ctx), Math.random);
    expect(JSON.stringify([r, ctx])).toBe(before);
  });
});

describe('canary share', () => {
  const policy = routing({ type: 'pinned', arm: 'student' });
  it('sends the canary share of student traffic to the new student, the rest to the teacher with the student shadowed', () => {
    let student = 0;
    for (let i = 0; i < 10_000; i++) {
      const d = decideRoute(policy, { user: `u${i}`, studentAvailable: true, canaryShare: 0.1 }, Math.random);
      if (d.primary === 'student') student++;
      else expect(d).toMatchObject({ primary: 'teacher', shadow: 'student', policy: 'canary' });
    }
    expect(student / 10_000).toBeGreaterThan(0.09);
    expect(student / 10_000).toBeLessThan(0.11);
  });
  it('leaves teacher-bound decisions and a completed ramp alone', () => {
    expect(decideRoute(routing({ type: 'pinned', arm: 'teacher' }), { studentAvailable: true, canaryShare: 0.1 }, () => 0.99).policy).toBe('pinned');
    expect(decideRoute(policy, { user: 'x', studentAvailable: true, canaryShare: 1 }, () => 0.99).primary).toBe('student');
  });
});
