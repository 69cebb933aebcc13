import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getDistillery } from '../src/function-app-instance.js';

// Timer trigger on DISTILLERY_REDISTILL_SCHEDULE (NCRONTAB): checks every task's threshold,
// schedule and drift triggers and queues the jobs they call for.

export async function redistillTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const distillery = await getDistillery();
  const last = timer.scheduleStatus?.last ? new Date(timer.scheduleStatus.last) : undefined;
  const results = await distillery.triggers.check(last);
  for (const r of results) context.log(`${r.created ? 'queued' : 'recorded trigger on'} job ${r.job.id} (${r.job.trigger.type})`);
}

app.timer('redistill-timer', {
  schedule: '%DISTILLERY_REDISTILL_SCHEDULE%',
  handler: redistillTimer,
});
