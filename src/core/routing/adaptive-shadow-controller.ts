import type { AgreementTask } from '../pairs/pair-agreement.js';
import type { Clock, ModelRegistry, PairStore } from '../ports.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import { adaptiveShadowRate, type ShadowRateDecision } from './adaptive-shadow.js';
import { ShadowSampleReader } from './adaptive-shadow-sample.js';

// Gives the router the adaptive shadow rate of the promoted version from its comparable
// random-shadow pairs and agreements since it was promoted (pairAgreement on pairProvenance's
// random shadow sample, never escalations: the same estimate as the canary and the drift check),
// and caches the decision per version so the router reads memory. The counts come from a
// ShadowSampleReader (adaptive-shadow-sample.ts), which keeps them running and reads only the
// pairs written since its last read. The first request of a version waits for one read; later ones
// get the cached rate while a refresh runs in the background.

export class AdaptiveShadowController {
  private readonly cache = new Map<string, { at: number; decision: ShadowRateDecision | undefined; refreshing?: Promise<void> }>();
  private readonly sample: ShadowSampleReader;

  constructor(
    private readonly deps: {
      registry: ModelRegistry;
      pairs: PairStore;
      tasks: { get(name: string): AgreementTask | undefined };
      clock: Clock;
      /** How stale the rate seen by the router may be. */
      refreshInMs?: number;
      /** The sample shared with the online τ (compose passes one); by default a reader of its own. */
      sample?: ShadowSampleReader;
    },
  ) {
    this.sample = deps.sample ?? new ShadowSampleReader(deps);
  }

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

  /** Every rate the router holds, read from memory (the /metrics gauges). */
  *decisions(): Iterable<{ task: string; modelId: string; decision: ShadowRateDecision }> {
    for (const [key, e] of this.cache) {
      const [task, modelId] = key.split('\u0000') as [string, string];
      if (e.decision) yield { task, modelId, decision: e.decision };
    }
  }

  private async refresh(task: TaskConfig, modelId: string, key: string): Promise<void> {
    const policy = task.routing.policy;
    if (policy.type !== 'cascade' || !policy.adaptiveShadow) return;
    // Another consumer of the sample (the online τ) may have read it a moment ago.
    const s = await this.sample.read(task, modelId, { maxAgeInMs: (this.deps.refreshInMs ?? 10_000) / 2 });
    if (this.cache.size > 1000) this.cache.clear();
    const counts = { comparable: s.comparable, agreements: s.agreements, recent: { ...s.recent } };
    this.cache.set(key, { at: this.deps.clock.now(), decision: adaptiveShadowRate(policy.adaptiveShadow, counts) });
  }
}
