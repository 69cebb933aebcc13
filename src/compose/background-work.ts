import { nextCronTick } from './cron-schedule.js';
import type { DistillTriggers } from '../core/distill/distill-triggers.js';
import { dispatchReceived, type JobMessageDispatcher } from '../core/distill/job-messages.js';
import type { Clock, JobQueue } from '../core/ports.js';

// The work a standalone process (server, demo) runs beside serving: the job worker (a queue
// subscription) and the trigger scheduler (the local stand-in for the timer Function).

export interface BackgroundWork {
  stop(): Promise<void>;
}

export interface BackgroundWorkDeps {
  jobQueue: JobQueue;
  dispatchJobMessage: JobMessageDispatcher;
  triggers: DistillTriggers;
  clock: Clock;
  /** NCRONTAB expression of the trigger checks (DISTILLERY_REDISTILL_SCHEDULE). */
  schedule: string;
  log: (m: string) => void;
}

export function startBackgroundWork(deps: BackgroundWorkDeps, opts: { worker?: boolean; scheduler?: boolean } = {}): BackgroundWork {
  const stops: (() => Promise<void>)[] = [];
  if (opts.worker ?? true) {
    const sub = deps.jobQueue.subscribe(dispatchReceived(deps.dispatchJobMessage), { maxConcurrentCalls: 2 });
    stops.push(() => sub.close());
  }
  if (opts.scheduler ?? true) stops.push(startTriggerScheduler(deps));
  return { stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}

const MAX_TIMER_DELAY_IN_MS = 2 ** 31 - 1;

/** Runs `triggers.check` at every tick of the schedule; returns its stop function. */
function startTriggerScheduler(deps: BackgroundWorkDeps): () => Promise<void> {
  const { clock, triggers, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastCheck: Date | undefined = new Date(clock.now());
  const tick = async () => {
    const now = new Date(clock.now());
    try {
      const results = await triggers.check(lastCheck);
      for (const r of results) if (r.created) log(`queued ${r.job.id} (${r.job.trigger.type}: ${r.job.trigger.detail ?? ''})`);
      // Only a check that ran moves the mark: a schedule tick that fell in a store outage is still
      // due at the next check.
      lastCheck = now;
    } catch (err) {
      log(`trigger check failed (schedule ticks since ${lastCheck?.toISOString()} stay due): ${(err as Error).message}`);
    }
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    wait(nextCronTick(deps.schedule, new Date(clock.now())));
  };
  // setTimeout holds at most ~24.8 days (a longer delay fires after 1 ms): a far tick (a yearly
  // schedule) is reached in steps.
  const wait = (next: number) => {
    const delay = next - clock.now();
    timer = delay > MAX_TIMER_DELAY_IN_MS ? setTimeout(() => wait(next), MAX_TIMER_DELAY_IN_MS) : setTimeout(() => void tick(), Math.max(50, delay));
    timer.unref?.();
  };
  schedule();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
