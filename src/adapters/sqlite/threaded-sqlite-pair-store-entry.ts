import { parentPort, workerData } from 'node:worker_threads';
import type { PairQuery, PairRecord } from '../../core/pairs/pair-record.js';
import { serializeError, type PairStoreAnswer, type PairStoreRequest } from './pair-store-thread-messages.js';
import { SqlitePairStore, type SqlitePairStoreOptions } from './sqlite-pair-store.js';

// The SQLite thread of ThreadedSqlitePairStore: owns the connection and runs every operation.
// Writes go one at a time in arrival order (a write waiting for another process's lock never lets
// a later write of the same record overtake it); reads run at once (WAL: a held write lock does
// not stop them). Open list cursors are bounded and expire when their reader walks away.

const MAX_OPEN_LISTS = 64;
const LIST_IDLE_EXPIRY_IN_MS = 5 * 60_000;

interface OpenList {
  iterator: AsyncIterator<PairRecord>;
  usedAt: number;
}

const port = parentPort!;
const options = workerData as SqlitePairStoreOptions;
let store: SqlitePairStore | undefined;
let openError: unknown;
try {
  store = new SqlitePairStore(options);
} catch (err) {
  openError = err;
}
const lists = new Map<number, OpenList>();
let nextList = 1;
let writes: Promise<unknown> = Promise.resolve();

const sweep = setInterval(() => {
  const now = Date.now();
  for (const [id, l] of lists) if (now - l.usedAt > LIST_IDLE_EXPIRY_IN_MS) closeList(id);
}, 60_000);
sweep.unref();

function closeList(id: number) {
  const l = lists.get(id);
  lists.delete(id);
  void l?.iterator.return?.().catch(() => undefined);
}

async function listNext(id: number, max: number): Promise<{ items: PairRecord[]; done: boolean }> {
  const l = lists.get(id);
  if (!l) throw Object.assign(new Error('list cursor expired or unknown'), { code: 'store_cursor_expired' });
  l.usedAt = Date.now();
  const items: PairRecord[] = [];
  try {
    while (items.length < max) {
      const r = await l.iterator.next();
      if (r.done) {
        lists.delete(id);
        return { items, done: true };
      }
      items.push(r.value);
    }
  } catch (err) {
    lists.delete(id);
    throw err;
  }
  return { items, done: false };
}

function listOpen(query: PairQuery): number {
  if (lists.size >= MAX_OPEN_LISTS) {
    // Evict the least recently used cursor: a reader that walked away must not block new ones.
    const oldest = [...lists.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt)[0]!;
    closeList(oldest[0]);
  }
  const id = nextList++;
  lists.set(id, { iterator: store!.list(query)[Symbol.asyncIterator](), usedAt: Date.now() });
  return id;
}

async function run(req: PairStoreRequest): Promise<unknown> {
  if (!store) throw openError;
  const s = store;
  switch (req.op) {
    case 'upsertMany': {
      const write = writes.then(() => s.upsertMany(req.args[0] as PairRecord[]));
      writes = write.catch(() => undefined);
      return write;
    }
    case 'get':
      return s.get(req.args[0] as string, req.args[1] as string, req.args[2] as string);
    case 'getCounter':
      return s.getCounter(req.args[0] as string);
    case 'flush':
      await writes;
      return s.flush();
    case 'listOpen':
      return listOpen(req.args[0] as PairQuery);
    case 'listNext':
      return listNext(req.args[0] as number, req.args[1] as number);
    case 'listClose':
      return closeList(req.args[0] as number);
    case 'close':
      await writes;
      for (const id of [...lists.keys()]) closeList(id);
      clearInterval(sweep);
      return s.close();
  }
}

port.on('message', (req: PairStoreRequest) => {
  void run(req).then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies PairStoreAnswer),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: serializeError(err) } satisfies PairStoreAnswer),
  );
});
