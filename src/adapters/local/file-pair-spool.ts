import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { PairRecord } from '../../core/pairs/pair-record.js';
import type { PairSpool } from '../../core/ports.js';

// The durable outbox of pair records: numbered segment files of JSON lines in a local folder
// (on Azure Functions, the instance's local disk). Each append is one segment written and
// fsync'ed before it resolves, so an acknowledged batch survives a crash; segments are replayed
// oldest first and deleted only after the store has taken them. A segment torn by a crash in the
// middle of its write is recognised by its missing end marker and its complete lines are kept.

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
    const text = readFileSync(this.file(seq), 'utf8');
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

  async append(pairs: readonly PairRecord[]): Promise<void> {
    if (pairs.length === 0) return;
    const seq = this.nextSeq++;
    const fd = openSync(this.file(seq), 'wx');
    try {
      writeSync(fd, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n' + END);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.segments.push({ seq, count: pairs.length });
    this.total += pairs.length;
  }

  async peek(): Promise<{ id: string; pairs: PairRecord[] } | undefined> {
    const first = this.segments[0];
    if (!first) return undefined;
    return { id: String(first.seq), pairs: this.readSegment(first.seq) };
  }

  async remove(id: string): Promise<void> {
    const seq = Number(id);
    const i = this.segments.findIndex((s) => s.seq === seq);
    if (i < 0) return;
    rmSync(this.file(seq), { force: true });
    this.total -= this.segments[i]!.count;
    this.segments.splice(i, 1);
  }

  size(): number {
    return this.total;
  }
}
