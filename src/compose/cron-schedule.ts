import { createRequire } from 'node:module';
import type * as CronParser from 'cron-parser';

// NCRONTAB schedules (six fields) for the trigger checks. cron-parser (and luxon behind it) is
// required on the first schedule computed, not at cold start: the HTTP path never needs it.

const require = createRequire(import.meta.url);
let parser: typeof CronParser.CronExpressionParser | undefined;
const cron = () => (parser ??= (require('cron-parser') as typeof CronParser).CronExpressionParser);

/** The schedule tick at or before `now`, or undefined for a bad expression. */
export function previousCronTick(expression: string, now: Date): Date | undefined {
  try {
    return cron().parse(expression, { currentDate: new Date(now.getTime() + 1) }).prev().toDate();
  } catch {
    return undefined;
  }
}

/** The first schedule tick after `now`, in epoch ms (throws on a bad expression). */
export function nextCronTick(expression: string, now: Date): number {
  return cron().parse(expression, { currentDate: now }).next().getTime();
}
