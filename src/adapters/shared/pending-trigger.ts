import { invalidRequest } from '../../core/errors.js';
import type { PendingTrigger, PendingTriggerEntry } from '../../core/ports.js';

// A trigger recorded beside a task's active job coalesces into the task's one pending request:
// the count grows, the first trigger stays, the last is replaced. Both job stores use this rule.

const TYPES: readonly PendingTriggerEntry['type'][] = ['threshold', 'schedule', 'drift', 'manual', 'spec'];

export function coalesceTrigger(task: string, current: PendingTrigger | undefined, trigger: PendingTriggerEntry): PendingTrigger {
  if (!TYPES.includes(trigger.type)) throw invalidRequest(`Unknown trigger type '${String(trigger.type)}'.`, 'type');
  if (typeof trigger.at !== 'string' || Number.isNaN(Date.parse(trigger.at))) throw invalidRequest('trigger.at must be an ISO time.', 'at');
  const entry: PendingTriggerEntry = {
    type: trigger.type,
    at: trigger.at,
    ...(trigger.detail !== undefined ? { detail: String(trigger.detail).slice(0, 1000) } : {}),
    ...(trigger.tenant !== undefined ? { tenant: String(trigger.tenant).slice(0, 128) } : {}),
  };
  return current ? { task, count: current.count + 1, first: current.first, last: entry } : { task, count: 1, first: entry, last: entry };
}
