import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { PairRecord } from '../../core/pairs/pair-record.js';
import type { PairSpool } from '../../core/ports.js';

// The durable outbox of pair records: numbered segment files of JSON lines in a local folder
// (on Azure Functions, the instance's local disk). Each append is one segment written and
// fdatasync'ed before it resolves, so an acknowledged batch survives a crash; segments are replayed
// oldest first and deleted only after the store has taken them. A segment torn by a crash in the
// middle of its write is recognised by its missing end marker and its complete lines are kept.
// Appends, reads and deletes are asynchronous (libuv's thread pool): the serving thread goes on
// answering while the disk syncs, and the records arriving meanwhile share the next append.
// Only the constructor (start-up recovery) reads synchronously.

const END = '#end\n';

export class FilePairSpool implements PairSpool {
  private readonly dir: string;
  private segments: { seq: number; count: number }[] = [];
  private nextSeq = 1;
  private total = 0;

  constructor(options: { dir: string }) {
    this.dir = options.dir;
    mkdirSync(this.dir, { recursive: true });
    for (const name of readdirSync(this.dir).sort()) {
      const m = /^segment-(\d{12})\.jsonl$/.exec(name);
      if (!m) continue;
      const seq = Number(m[1]);
      const count = this.readSegment(seq).length;
      if (count === 0) {
        rmSync(this.file(seq), { force: true });
        continue;
      }
      this.segments.push({ seq, count });
      this.total += count;
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
  }

  private file(seq: number) {
    return path.join(this.dir, `segment-${String(seq).padStart(12, '0')}.jsonl`);
  }

  private readSegment(seq: number): PairRecord[] {
    return parseSegment(readFileSync(this.file(seq), 'utf8'));
  }

  async append(pairs: readonly PairRecord[]): Promise<void> {
    if (pairs.length === 0) return;
    const data = Buffer.from(pairs.map((p) => JSON.stringify(p)).join('\n') + '\n' + END);
    const seq = this.nextSeq++;
    const file = this.file(seq);
    const handle = await open(file, 'wx');
    try {
      for (let off = 0; off < data.length; ) off += (await handle.write(data, off, data.length - off)).bytesWritten;
      await handle.datasync();
    } catch (err) {
      // A failed append (ENOSPC, EIO) leaves no file behind: the caller keeps the records, and a
      // partial segment would be replayed as if it had been acknowledged.
      await handle.close().catch(() => undefined);
      await rm(file, { force: true });
      throw err;
    }
    await handle.close();
    this.segments.push({ seq, count: pairs.length });
    this.total += pairs.length;
  }

  async peek(): Promise<{ id: string; pairs: PairRecord[] } | undefined> {
    const first = this.segments[0];
    if (!first) return undefined;
    return { id: String(first.seq), pairs: parseSegment(await readFile(this.file(first.seq), 'utf8')) };
  }

  async remove(id: string): Promise<void> {
    const seq = Number(id);
    const i = this.segments.findIndex((s) => s.seq === seq);
    if (i < 0) return;
    await rm(this.file(seq), { force: true });
    const j = this.segments.findIndex((s) => s.seq === seq);
    if (j < 0) return;
    this.total -= this.segments[j]!.count;
    this.segments.splice(j, 1);
  }

  size(): number {
    return this.total;
  }
}

function parseSegment(text: string): PairRecord[] {
  const out: PairRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line === END.trim()) continue;
    try {
      out.push(JSON.parse(line) as PairRecord);
    } catch {
      // A torn last line from a crash mid-write: it was never acknowledged.
    }
  }
  return out;
}
