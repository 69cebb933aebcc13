import { pairAgreement, type AgreementTask } from '../pairs/pair-agreement.js';
import { pairProvenance } from '../pairs/pair-provenance.js';
import type { Clock, ModelRegistry, PairStore } from '../ports.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import { adaptiveShadowRate, type ShadowCounts, type ShadowRateDecision } from './adaptive-shadow.js';

// Reads what adaptiveShadowRate needs for the promoted version — its comparable random-shadow
// pairs and agreements since it was promoted (pairAgreement on pairProvenance's random shadow
// sample, never escalations: the same estimate as the canary and the drift check) — and caches
// the decision per version so the router reads memory. The first request of a version waits for
// one count; later ones get the cached rate while a refresh runs in the background.

export class AdaptiveShadowController {
  private readonly cache = new Map<string, { at: number; decision: ShadowRateDecision | undefined; refreshing?: Promise<void> }>();

  constructor(
    private readonly deps: {
      registry: ModelRegistry;
      pairs: PairStore;
      tasks: { get(name: string): AgreementTask | undefined };
      clock: Clock;
      /** How stale the rate seen by the router may be. */
      refreshInMs?: number;
    },
  ) {}

  /** The shadow rate for the student `modelId` of `task`; undefined when the policy has no adaptive shadow. */
  async rateFor(task: TaskConfig, modelId: string): Promise<number | undefined> {
    const policy = task.routing.policy;
    if (policy.type !== 'cascade' || !policy.adaptiveShadow) return undefined;
    const key = `${task.name}\u0000${modelId}`;
    const now = this.deps.clock.now();
    const hit = this.cache.get(key);
    if (hit && hit.decision && now - hit.at >= (this.deps.refreshInMs ?? 10_000) && !hit.refreshing) {
      hit.refreshing = this.refresh(task, modelId, key).catch(() => undefined).finally(() => (hit.refreshing = undefined));
    }
    if (!hit?.decision) await this.refresh(task, modelId, key);
    return this.cache.get(key)?.decision?.rate;
  }

  /** The current decision with its reason (reports, dashboard); undefined when not adaptive. */
  decisionFor(task: string, modelId: string): ShadowRateDecision | undefined {
    return this.cache.get(`${task}\u0000${modelId}`)?.decision;
  }

  private async refresh(task: TaskConfig, modelId: string, key: string): Promise<void> {
    const policy = task.routing.policy;
    if (policy.type !== 'cascade' || !policy.adaptiveShadow) return;
    const counts = await this.count(task, modelId, policy.adaptiveShadow.recentWindow);
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { at: this.deps.clock.now(), decision: adaptiveShadowRate(policy.adaptiveShadow, counts) });
  }

  private async count(task: TaskConfig, modelId: string, window: number): Promise<ShadowCounts> {
    const promoted = await this.deps.registry.getPromoted(task.name);
    const since = promoted?.id === modelId ? (promoted.promotedAt ?? promoted.createdAt) : undefined;
    const runtime = this.deps.tasks.get(task.name);
    let comparable = 0;
    let agreements = 0;
    // The last `window` verdicts, as a ring: 1 agree, 0 disagree.
    const ring: number[] = [];
    let next = 0;
    for await (const p of this.deps.pairs.list({ task: task.name, ...(since ? { since } : {}) })) {
      if (p.student?.model !== modelId || !pairProvenance(p).randomShadow) continue;
      const verdict = pairAgreement(p, runtime);
      if (verdict === 'not_comparable') continue;
      comparable++;
      const v = verdict === 'agree' ? 1 : 0;
      agreements += v;
      if (ring.length < window) ring.push(v);
      else ring[next] = v;
      next = (next + 1) % window;
    }
    return { comparable, agreements, recent: { comparable: ring.length, agreements: ring.reduce((a, b) => a + b, 0) } };
  }
}
