import { randomUUID } from 'node:crypto';
import { invalidRequest } from '../../core/errors.js';
import type {
  JobMessage,
  JobQueue,
  JobQueueSendOptions,
  JobQueueSubscription,
  OperationOptions,
  ReceivedJobMessage,
} from '../../core/ports.js';
import { checkJobMessage, failureDescription, type DeadLetteredJobMessage } from '../shared/check-job-message.js';
import { checkKey } from '../shared/check-pair-record.js';
import { checkAbort, openDatabase, storeClosedError, type SqliteDatabase } from './open-database.js';
import { abortableSleep } from '../../core/retry.js';

// The embedded, durable JobQueue: Service Bus peek-lock semantics on one SQLite file, so a single
// machine needs no broker. A receiver claims a message by writing a lock token and an expiry in
// one transaction; completing deletes the row only while that lock is still held. A receiver that
// dies simply stops renewing, the lock expires and another receiver gets the message again with a
// higher delivery count (at-least-once). Several processes may share the file (WAL + busy timeout).

export interface SqliteJobQueueOptions {
  /** File path, or ':memory:' (then only this instance sees the queue). */
  path: string;
  queueName?: string;
  /** How long a received message stays invisible to others; renewed while its handler runs. */
  lockDurationInMs?: number;
  /** Deliveries after which a failing message is dead-lettered instead of retried. */
  maxDeliveryCount?: number;
  /** Wait before a failed message is delivered again (0: at once). A function gets the failed delivery's count. */
  retryDelayInMs?: number | ((deliveryCount: number) => number);
  /** A message id seen within this window is dropped on send (0 disables detection). */
  duplicateDetectionWindowInMs?: number;
  /** Idle wait between polls when the queue is empty. */
  pollIntervalInMs?: number;
  /** How long close() waits for running handlers before leaving their locks to expire. */
  closeTimeoutInMs?: number;
  now?: () => number;
}

interface MessageRow {
  seq: number;
  message_id: string;
  body: string;
  delivery_count: number;
  lock_token: string | null;
}

interface DeadRow {
  message_id: string;
  body: string;
  delivery_count: number;
  reason: string;
  description: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  enqueued_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL DEFAULT 0,
  lock_token TEXT,
  locked_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible_at, seq);
CREATE TABLE IF NOT EXISTS queue_dead_letters (
  seq INTEGER PRIMARY KEY,
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  body TEXT NOT NULL,
  delivery_count INTEGER NOT NULL,
  reason TEXT NOT NULL,
  description TEXT,
  dead_lettered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_dead_letters_by_queue ON queue_dead_letters (queue, seq);
CREATE TABLE IF NOT EXISTS queue_message_ids (
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (queue, message_id)
) WITHOUT ROWID;
`;

type ClaimedMessage = ReceivedJobMessage & { seq: number; lockToken: string };

function prepareStatements(db: SqliteDatabase) {
  return {
    purgeIds: db.prepare(`DELETE FROM queue_message_ids WHERE queue = ? AND expires_at <= ?`),
    rememberId: db.prepare(`INSERT OR IGNORE INTO queue_message_ids (queue, message_id, expires_at) VALUES (?, ?, ?)`),
    insert: db.prepare(
      `INSERT INTO queue_messages (queue, message_id, body, enqueued_at, visible_at) VALUES (?, ?, ?, ?, ?)`,
    ),
    next: db.prepare(
      `SELECT seq, message_id, body, delivery_count, lock_token FROM queue_messages
       WHERE queue = ? AND visible_at <= ? AND locked_until <= ? ORDER BY visible_at, seq LIMIT 1`,
    ),
    lock: db.prepare(
      `UPDATE queue_messages SET lock_token = ?, locked_until = ?, delivery_count = delivery_count + 1 WHERE seq = ?`,
    ),
    renew: db.prepare(`UPDATE queue_messages SET locked_until = ? WHERE seq = ? AND lock_token = ?`),
    complete: db.prepare(`DELETE FROM queue_messages WHERE seq = ? AND lock_token = ? AND locked_until > ?`),
    abandon: db.prepare(`UPDATE queue_messages SET lock_token = NULL, locked_until = 0, visible_at = ? WHERE seq = ? AND lock_token = ?`),
    row: db.prepare(`SELECT seq, message_id, body, delivery_count, lock_token FROM queue_messages WHERE seq = ?`),
    remove: db.prepare(`DELETE FROM queue_messages WHERE seq = ?`),
    dead: db.prepare(
      `INSERT INTO queue_dead_letters (seq, queue, message_id, body, delivery_count, reason, description, dead_lettered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    peekDead: db.prepare(
      `SELECT message_id, body, delivery_count, reason, description FROM queue_dead_letters WHERE queue = ? ORDER BY seq LIMIT ?`,
    ),
    count: db.prepare(`SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ?`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** A poll wait that an abort (stop, wake-up) ends early without an error. */
const sleep = (ms: number, signal: AbortSignal) => abortableSleep(ms, signal).catch(() => undefined);

export class SqliteJobQueue implements JobQueue {
  readonly queueName: string;
  readonly #db: SqliteDatabase;
  readonly #lockDurationInMs: number;
  readonly #maxDeliveryCount: number;
  readonly #dedupWindowInMs: number;
  readonly #pollIntervalInMs: number;
  readonly #closeTimeoutInMs: number;
  readonly #retryDelay: (deliveryCount: number) => number;
  readonly #now: () => number;
  readonly #subscriptions = new Set<SqliteSubscription>();
  #closed = false;
  readonly #stmts: Statements;
  readonly #sendTx: (messageId: string, body: string, visibleAt: number) => boolean;
  readonly #claimTx: () => ClaimedMessage | undefined;
  readonly #deadLetterTx: (seq: number, lockToken: string | null, reason: string, description: string | null) => boolean;

  constructor(options: SqliteJobQueueOptions) {
    this.queueName = options.queueName ?? 'distill-jobs';
    checkKey(this.queueName, 'queueName', 128);
    this.#lockDurationInMs = positive(options.lockDurationInMs, 30_000, 'lockDurationInMs');
    this.#maxDeliveryCount = positive(options.maxDeliveryCount, 5, 'maxDeliveryCount');
    this.#dedupWindowInMs = Math.max(0, options.duplicateDetectionWindowInMs ?? 10 * 60_000);
    this.#pollIntervalInMs = positive(options.pollIntervalInMs, 100, 'pollIntervalInMs');
    this.#closeTimeoutInMs = Math.max(0, options.closeTimeoutInMs ?? 10_000);
    this.#now = options.now ?? Date.now;
    const delay = options.retryDelayInMs ?? 0;
    this.#retryDelay = typeof delay === 'function' ? delay : () => delay;
    this.#db = openDatabase({ path: options.path });
    this.#db.exec(SCHEMA);
    this.#stmts = prepareStatements(this.#db);
    this.#sendTx = this.#db.transaction((messageId: string, body: string, visibleAt: number) => this.#insertUnlessDuplicate(messageId, body, visibleAt));
    this.#deadLetterTx = this.#db.transaction((seq: number, lockToken: string | null, reason: string, description: string | null) =>
      this.#moveToDeadLetters(seq, lockToken, reason, description),
    );
    this.#claimTx = this.#db.transaction(() => this.#claimOldestVisible());
  }

  // The three bodies below run inside their transactions (see the constructor).

  #insertUnlessDuplicate(messageId: string, body: string, visibleAt: number): boolean {
    const s = this.#stmts;
    const now = this.#now();
    if (this.#dedupWindowInMs > 0) {
      s.purgeIds.run(this.queueName, now);
      if (s.rememberId.run(this.queueName, messageId, now + this.#dedupWindowInMs).changes === 0) return false;
    }
    s.insert.run(this.queueName, messageId, body, now, visibleAt);
    return true;
  }

  #moveToDeadLetters(seq: number, lockToken: string | null, reason: string, description: string | null): boolean {
    const s = this.#stmts;
    const row = s.row.get(seq) as MessageRow | undefined;
    if (row === undefined || (lockToken !== null && row.lock_token !== lockToken)) return false;
    s.dead.run(seq, this.queueName, row.message_id, row.body, row.delivery_count, reason, description, this.#now());
    s.remove.run(seq);
    return true;
  }

  // Claims the oldest visible message. A message whose earlier deliveries used up the maximum
  // (its last lock expired without a settlement) is dead-lettered here instead of delivered again.
  #claimOldestVisible(): ClaimedMessage | undefined {
    const s = this.#stmts;
    for (;;) {
      const now = this.#now();
      const row = s.next.get(this.queueName, now, now) as MessageRow | undefined;
      if (row === undefined) return undefined;
      if (row.delivery_count >= this.#maxDeliveryCount) {
        s.dead.run(row.seq, this.queueName, row.message_id, row.body, row.delivery_count, 'MaxDeliveryCountExceeded',
          `The lock expired on delivery ${row.delivery_count} of ${this.#maxDeliveryCount}.`, now);
        s.remove.run(row.seq);
        continue;
      }
      const lockToken = randomUUID();
      s.lock.run(lockToken, now + this.#lockDurationInMs, row.seq);
      return {
        seq: row.seq,
        lockToken,
        messageId: row.message_id,
        body: JSON.parse(row.body) as JobMessage['body'],
        deliveryCount: row.delivery_count + 1,
      };
    }
  }

  async send(message: JobMessage, options?: JobQueueSendOptions): Promise<void> {
    this.#open();
    checkAbort(options?.abortSignal);
    const body = checkJobMessage(message, options);
    const visibleAt = options?.scheduledAt?.getTime() ?? this.#now();
    if (this.#sendTx(message.messageId, body, visibleAt)) for (const sub of this.#subscriptions) sub.wake();
  }

  subscribe(
    handler: (message: ReceivedJobMessage, options: OperationOptions) => Promise<void>,
    options?: { maxConcurrentCalls?: number },
  ): JobQueueSubscription {
    this.#open();
    if (typeof handler !== 'function') throw invalidRequest('subscribe needs a handler function.', 'handler');
    const max = positive(options?.maxConcurrentCalls, 1, 'maxConcurrentCalls');
    const sub = new SqliteSubscription(this, handler, max);
    this.#subscriptions.add(sub);
    sub.start();
    return { close: async () => {
      await sub.close();
      this.#subscriptions.delete(sub);
    } };
  }

  /** Dead-lettered messages, oldest first (operators inspect them; the contract tests too). */
  async peekDeadLetters(options?: OperationOptions & { maxMessageCount?: number }): Promise<DeadLetteredJobMessage[]> {
    this.#open();
    checkAbort(options?.abortSignal);
    const rows = this.#stmts.peekDead.all(this.queueName, options?.maxMessageCount ?? 100) as DeadRow[];
    return rows.map((r) => ({
      messageId: r.message_id,
      body: JSON.parse(r.body) as JobMessage['body'],
      deliveryCount: r.delivery_count,
      reason: r.reason,
      ...(r.description === null ? {} : { description: r.description }),
    }));
  }

  /** Messages waiting or locked (not dead-lettered). */
  async countActiveMessages(): Promise<number> {
    this.#open();
    return (this.#stmts.count.get(this.queueName) as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#subscriptions.clear();
    this.#closed = true;
    this.#db.close();
  }

  // --- used by subscriptions -----------------------------------------------------------------

  get lockDurationInMs() {
    return this.#lockDurationInMs;
  }
  get pollIntervalInMs() {
    return this.#pollIntervalInMs;
  }
  get closeTimeoutInMs() {
    return this.#closeTimeoutInMs;
  }
  get maxDeliveryCount() {
    return this.#maxDeliveryCount;
  }
  get isClosed() {
    return this.#closed;
  }

  claim() {
    return this.#closed ? undefined : this.#claimTx();
  }
  renew(seq: number, lockToken: string): boolean {
    return !this.#closed && this.#stmts.renew.run(this.#now() + this.#lockDurationInMs, seq, lockToken).changes === 1;
  }
  complete(seq: number, lockToken: string): boolean {
    return !this.#closed && this.#stmts.complete.run(seq, lockToken, this.#now()).changes === 1;
  }
  /** Unlocks a message; after a failure it becomes visible again only once the retry delay has passed. */
  abandon(seq: number, lockToken: string, failedDeliveryCount?: number): boolean {
    const delay = failedDeliveryCount === undefined ? 0 : Math.max(0, this.#retryDelay(failedDeliveryCount));
    return !this.#closed && this.#stmts.abandon.run(this.#now() + delay, seq, lockToken).changes === 1;
  }
  deadLetter(seq: number, lockToken: string, reason: string, description: string): boolean {
    return !this.#closed && this.#deadLetterTx(seq, lockToken, reason, description);
  }

  #open(): void {
    if (this.#closed) throw storeClosedError('SqliteJobQueue');
  }
}

class SqliteSubscription {
  readonly #queue: SqliteJobQueue;
  readonly #handler: (message: ReceivedJobMessage, options: OperationOptions) => Promise<void>;
  readonly #max: number;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(queue: SqliteJobQueue, handler: (message: ReceivedJobMessage, options: OperationOptions) => Promise<void>, max: number) {
    this.#queue = queue;
    this.#handler = handler;
    this.#max = max;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Cuts the idle wait short: a local send is picked up at once instead of at the next poll. */
  wake(): void {
    this.#wake.abort();
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      if (this.#inFlight.size >= this.#max) {
        // Also wakes on close, so a handler that never settles cannot hold the loop (or close) hostage.
        const done = new AbortController();
        await Promise.race([...this.#inFlight, sleep(2 ** 31 - 1, AbortSignal.any([this.#stop.signal, done.signal]))]);
        done.abort(); // drops the wait's timer and listeners once a handler has finished
        continue;
      }
      let claimed;
      try {
        claimed = this.#queue.claim();
      } catch {
        claimed = undefined; // SQLITE_BUSY beyond the busy timeout: try again at the next poll
      }
      if (claimed === undefined) {
        if (this.#wake.signal.aborted) this.#wake = new AbortController();
        await sleep(this.#queue.pollIntervalInMs, AbortSignal.any([this.#stop.signal, this.#wake.signal]));
        continue;
      }
      const task = this.#process(claimed).finally(() => this.#inFlight.delete(task));
      this.#inFlight.add(task);
    }
  }

  async #process(claimed: ClaimedMessage): Promise<void> {
    const { seq, lockToken, ...message } = claimed;
    // Keeps the lock while a long job (training) runs; stops when the handler ends or on close.
    const renewal = setInterval(() => {
      try {
        this.#queue.renew(seq, lockToken);
      } catch {
        // the next tick (or the lock expiry) decides
      }
    }, Math.max(10, Math.floor(this.#queue.lockDurationInMs / 3)));
    const stopRenewal = () => clearInterval(renewal);
    this.#stop.signal.addEventListener('abort', stopRenewal, { once: true });
    try {
      await this.#handler(message, { abortSignal: this.#stop.signal });
      stopRenewal();
      this.#settle(() => this.#queue.complete(seq, lockToken));
    } catch (err) {
      stopRenewal();
      if (!this.#stop.signal.aborted && message.deliveryCount >= this.#queue.maxDeliveryCount) {
        this.#settle(() =>
          this.#queue.deadLetter(seq, lockToken, failureDescription(err), `Failed on delivery ${message.deliveryCount} of ${this.#queue.maxDeliveryCount}.`),
        );
      } else {
        // On close the message goes back at once; after a failure it waits for the retry delay.
        this.#settle(() => this.#queue.abandon(seq, lockToken, this.#stop.signal.aborted ? undefined : message.deliveryCount));
      }
    } finally {
      this.#stop.signal.removeEventListener('abort', stopRenewal);
    }
  }

  // A settlement that finds its lock lost (expired and taken by another receiver) does nothing:
  // the other delivery owns the message now, which is what at-least-once means.
  #settle(action: () => boolean): void {
    try {
      action();
    } catch {
      // database closed under us: the lock expires and the message is delivered again
    }
  }

  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return this.#loop;
    this.#stop.abort();
    await this.#loop;
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#queue.closeTimeoutInMs))),
      ]);
      clearTimeout(timer);
    }
  }
}

function positive(value: number | undefined, fallback: number, param: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw invalidRequest(`${param} must be a positive number.`, param);
  return Math.floor(value);
}
