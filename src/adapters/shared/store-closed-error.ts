import { DistilleryError } from '../../core/errors.js';

// The error every store and queue adapter throws once closed. Kept apart from open-database.ts so
// the Cosmos and Service Bus adapters can use it without loading the SQLite native module.
export function storeClosedError(name: string): DistilleryError {
  return new DistilleryError(`${name} is closed.`, { status: 503, type: 'server_error', code: 'store_closed' });
}
