import { ConcurrencyError } from '../errors.js';
import type { Clock, JobRecord, JobStore, ModelRegistry, PairStore } from '../ports.js';
import { DRIFT_CONFIDENCE } from '../eval/agreement-estimates.js';
import { wilsonInterval } from '../eval/statistics.js';
import { pairAgreement } from '../pairs/pair-agreement.js';
import { pairProvenance } from '../pairs/pair-provenance.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';

// The canary ramp of a newly promoted student. A task with `distill.canary.enabled` does not hand
// a new version all of its student traffic at once: the version serves `steps[0]` of it (10%),
// the rest is served by the teacher with the new student shadowed, and every check of the
// triggers looks at the version's online agreement with the teacher since the step began (student
// quality on the random shadow sample, as the drift check measures it). At least `minRequests`
// comparable pairs with agreement ≥ `minAgreement` advance it (50%, then
// 100%: the ramp is done); agreement below the floor rolls the registry back to the previous
// version. The state lives on the job that promoted the version, written with its etag.

export interface CanaryState {
  version: number;
  modelId: string;
  stepIndex: number;
  share: number;
  stepStartedAt: string;
  status: 'ramping' | 'completed' | 'rolled_back';
  history: { at: string; share: number; agreement: number | null; comparable: number; decision: string }[];
}

export function initialCanary(version: { version: number; id: string }, steps: readonly number[], now: string): CanaryState {
  return { version: version.version, modelId: version.id, stepIndex: 0, share: steps[0] ?? 1, stepStartedAt: now, status: 'ramping', history: [] };
}

export class CanaryController {
  private readonly cache = new Map<string, { at: number; share: number | undefined }>();

  constructor(
    private readonly deps: {
      jobs: JobStore;
      registry: ModelRegistry;
      pairs: PairStore;
      tasks: { list(): TaskRuntime[]; get(name: string): TaskRuntime | undefined };
      clock: Clock;
      /** How stale the share seen by the router may be. */
      refreshInMs?: number;
    },
  ) {}

  private async promotingJob(task: string): Promise<JobRecord | undefined> {
    for await (const job of this.deps.jobs.list({ task, states: ['succeeded'] })) {
      if (job.outcome === 'promoted') return job;
    }
    return undefined;
  }

  /**
   * The share of student traffic `modelId` (the promoted version the router resolved) may serve
   * now; undefined when it is not ramping. Cached per version, so a newly promoted version is
   * looked up at once while the router keeps reading from memory.
   */
  async shareFor(task: string, modelId: string): Promise<number | undefined> {
    const runtime = this.deps.tasks.get(task);
    if (!runtime?.config.distill.canary.enabled) return undefined;
    const now = this.deps.clock.now();
    const key = `${task}\u0000${modelId}`;
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (this.deps.refreshInMs ?? 2_000)) return hit.share;
    const canary = (await this.promotingJob(task))?.steps.canary as CanaryState | undefined;
    const share = canary?.status === 'ramping' && canary.modelId === modelId ? canary.share : undefined;
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { at: now, share });
    return share;
  }

  /**
   * The version's student quality since its step began: the same estimate as the drift check and
   * the online report — pairAgreement on the random shadow sample (the teacher-served share with
   * the new student shadowed, or shadows the policy drew), never on escalations.
   */
  private async studentQuality(runtime: TaskRuntime, canary: CanaryState): Promise<{ comparable: number; agreements: number }> {
    let comparable = 0;
    let agreements = 0;
    for await (const p of this.deps.pairs.list({ task: runtime.config.name, since: canary.stepStartedAt })) {
      if (p.student?.model !== canary.modelId || !pairProvenance(p).randomShadow) continue;
      const verdict = pairAgreement(p, runtime);
      if (verdict === 'not_comparable') continue;
      comparable++;
      if (verdict === 'agree') agreements++;
    }
    return { comparable, agreements };
  }

  /** Advances, completes or rolls back every ramping canary (called with the trigger checks). */
  async evaluate(): Promise<{ task: string; decision: string }[]> {
    const decisions: { task: string; decision: string }[] = [];
    for (const runtime of this.deps.tasks.list()) {
      const settings = runtime.config.distill.canary;
      if (!settings.enabled) continue;
      const task = runtime.config.name;
      const job = await this.promotingJob(task);
      const canary = job?.steps.canary as CanaryState | undefined;
      if (!job || !canary) continue;
      if (canary.status === 'rolled_back') {
        // Repair: the decision was saved but the process died before the registry rolled back.
        if ((await this.deps.registry.getPromoted(task))?.version === canary.version) await this.deps.registry.rollback(task);
        continue;
      }
      if (canary.status !== 'ramping') continue;
      const { comparable, agreements } = await this.studentQuality(runtime, canary);
      if (comparable < settings.minRequests) continue;
      const agreement = agreements / comparable;
      const bound = wilsonInterval(agreements, comparable, DRIFT_CONFIDENCE);
      const now = new Date(this.deps.clock.now()).toISOString();
      let next: CanaryState;
      let decision: string;
      if (agreement < settings.minAgreement) {
        next = { ...canary, status: 'rolled_back' };
        decision = `rolled back ${canary.modelId}: online agreement ${agreement.toFixed(3)} < ${settings.minAgreement} over ${comparable} random-shadow pairs (upper bound ${bound.upper.toFixed(3)}) at ${Math.round(canary.share * 100)}%`;
      } else if (canary.stepIndex + 1 >= settings.steps.length || settings.steps[canary.stepIndex + 1]! >= 1) {
        next = { ...canary, stepIndex: settings.steps.length - 1, share: 1, status: 'completed', stepStartedAt: now };
        decision = `canary of ${canary.modelId} completed: agreement ${agreement.toFixed(3)} over ${comparable} pairs of the random shadow sample (lower bound ${bound.lower.toFixed(3)}); serving 100%`;
      } else {
        const share = settings.steps[canary.stepIndex + 1]!;
        next = { ...canary, stepIndex: canary.stepIndex + 1, share, stepStartedAt: now };
        decision = `canary of ${canary.modelId} advanced to ${Math.round(share * 100)}%: agreement ${agreement.toFixed(3)} over ${comparable} pairs of the random shadow sample (lower bound ${bound.lower.toFixed(3)})`;
      }
      next.history = [...canary.history, { at: now, share: canary.share, agreement, comparable, decision }];
      try {
        await this.deps.jobs.update({
          ...job,
          updatedAt: now,
          steps: { ...job.steps, canary: next },
          log: [...job.log, { at: now, level: next.status === 'rolled_back' ? ('warn' as const) : ('info' as const), message: decision }].slice(-500),
        });
      } catch (err) {
        if (err instanceof ConcurrencyError) continue; // another checker decided first
        throw err;
      }
      // The saved decision is the claim: only the checker that saved it rolls the registry back.
      if (next.status === 'rolled_back') await this.deps.registry.rollback(task);
      this.cache.clear();
      decisions.push({ task, decision });
    }
    return decisions;
  }
}
