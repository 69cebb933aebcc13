import { invalidRequest } from '../../core/errors.js';
import type { PairQuery, PairRecord } from '../../core/pairs/pair-record.js';

// The checks every PairStore adapter applies before it writes, so a bad record is refused with a
// typed error by SQLite and Cosmos alike and never half-written. Ids may not contain / \ ? #
// because Cosmos DB forbids them in item ids; refusing them everywhere keeps the contract equal.

const FORBIDDEN_ID = /[/\\?#]/;

export function checkKey(value: unknown, param: string, maxLength = 255): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw invalidRequest(`${param} must be a string of 1-${maxLength} characters.`, param);
  }
  if (FORBIDDEN_ID.test(value) || /[\u0000-\u001f]/.test(value)) {
    throw invalidRequest(`${param} may not contain '/', '\\', '?', '#' or control characters.`, param);
  }
}

/** Canonical ISO form of a timestamp, so ordering by string equals ordering by time. */
export function canonicalTime(value: unknown, param: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidRequest(`${param} must be an ISO-8601 string.`, param);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw invalidRequest(`${param} is not a valid ISO-8601 time: '${value}'.`, param);
  return new Date(ms).toISOString();
}

export function checkPairRecord(pair: PairRecord): void {
  if (pair === null || typeof pair !== 'object') throw invalidRequest('A pair record must be an object.', 'pair');
  checkKey(pair.id, 'id');
  checkKey(pair.task, 'task', 128);
  checkKey(pair.tenant, 'tenant', 128);
  canonicalTime(pair.createdAt, 'createdAt');
  if (pair.request === null || typeof pair.request !== 'object' || !Array.isArray(pair.request.messages)) {
    throw invalidRequest('request.messages must be an array.', 'request');
  }
  if (pair.source === null || typeof pair.source !== 'object' || (pair.source.kind !== 'traffic' && pair.source.kind !== 'dataset')) {
    throw invalidRequest("source.kind must be 'traffic' or 'dataset'.", 'source.kind');
  }
  if (pair.source.datasetId !== undefined && typeof pair.source.datasetId !== 'string') {
    throw invalidRequest('source.datasetId must be a string.', 'source.datasetId');
  }
}

export function checkPairQuery(query: PairQuery): { since?: string; until?: string; limit?: number } {
  if (query === null || typeof query !== 'object') throw invalidRequest('A pair query must be an object.', 'query');
  checkKey(query.task, 'task', 128);
  if (query.tenant !== undefined) checkKey(query.tenant, 'tenant', 128);
  if (query.sourceKind !== undefined && query.sourceKind !== 'traffic' && query.sourceKind !== 'dataset') {
    throw invalidRequest("sourceKind must be 'traffic' or 'dataset'.", 'sourceKind');
  }
  if (query.datasetId !== undefined && typeof query.datasetId !== 'string') {
    throw invalidRequest('datasetId must be a string.', 'datasetId');
  }
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
    throw invalidRequest('limit must be a non-negative integer.', 'limit');
  }
  return {
    since: query.since === undefined ? undefined : canonicalTime(query.since, 'since'),
    until: query.until === undefined ? undefined : canonicalTime(query.until, 'until'),
    limit: query.limit,
  };
}
