import type { ChatInvocation, ChatService, GatewayResult, GatewayStream } from '../ports.js';
import type { PairTicket, PairWriter } from './pair-writer.js';

// The chat use case as the HTTP layer serves it: each answered request first claims its pair
// record with the writer (PairWriter.expect), so that
//  - a shutdown waits for pairs of answered responses that are still being built (redaction,
//    a shadow arm) instead of refusing them, and
//  - in `write-ahead` durability the response ends only once its record is in the outbox
//    (fsync'ed): a crash (kill -9) after the answer then loses no pair.
// The gateway keys a pair by the invocation's requestId; failed requests release their claim
// (their pair, if any, is best effort).

export class PairClaimingChatService implements ChatService {
  constructor(
    private readonly inner: ChatService,
    private readonly writer: Pick<PairWriter, 'expect' | 'durability'>,
  ) {}

  private claim(inv: ChatInvocation): PairTicket | undefined {
    return inv.request.store === false ? undefined : this.writer.expect(inv.requestId);
  }

  async complete(inv: ChatInvocation): Promise<GatewayResult> {
    const ticket = this.claim(inv);
    let served: GatewayResult;
    try {
      served = await this.inner.complete(inv);
    } catch (err) {
      ticket?.cancel();
      throw err;
    }
    // Once the gateway has handed its record over (or decided not to), nothing more will come.
    void served.logged.then(
      () => ticket?.cancel(),
      () => ticket?.cancel(),
    );
    if (ticket && this.writer.durability === 'write-ahead') await ticket.settled;
    return served;
  }

  async stream(inv: ChatInvocation): Promise<GatewayStream> {
    const ticket = this.claim(inv);
    let served: GatewayStream;
    try {
      served = await this.inner.stream(inv);
    } catch (err) {
      ticket?.cancel();
      throw err;
    }
    if (!ticket) return served;
    const writeAhead = this.writer.durability === 'write-ahead';
    const inner = served.events;
    async function* events() {
      let finished = false;
      try {
        for await (const ev of inner) yield ev;
        finished = true;
      } finally {
        if (!finished) ticket!.cancel();
      }
      // The gateway logs the record as its stream ends; [DONE] goes out once the outbox has it.
      if (writeAhead) await ticket!.settled;
    }
    return { ...served, events: events() };
  }
}
