import { DistilleryError } from '../core/errors.js';

// Admission control: a cap on chat requests in flight in this process. Without it a stalled
// teacher lets requests pile up without bound (memory, sockets, file descriptors) and nobody is
// told; with it the excess is refused at once with 503 + retry-after (the OpenAI client retries
// those) and counted, so load balancers and clients can go elsewhere. A request stays "in flight"
// until its response ends: for a stream, until its last byte is sent or the client leaves.

export interface AdmissionStats {
  inFlight: number;
  peak: number;
  admitted: number;
  refused: number;
  maxInFlight: number;
}

export interface AdmissionOptions {
  /** Requests in flight at once; 0 = no cap. */
  maxInFlight: number;
  retryAfterInSeconds?: number;
  /** Called on every refusal (log line, metric); the caller rate-limits its own logging. */
  onRefused?: (stats: AdmissionStats) => void;
}

export class AdmissionControl {
  private inFlight = 0;
  private peak = 0;
  private admitted = 0;
  private refused = 0;

  constructor(private readonly options: AdmissionOptions) {}

  /** Admits one request and returns its release (safe to call more than once), or throws a 503. */
  enter(): () => void {
    const max = this.options.maxInFlight;
    if (max > 0 && this.inFlight >= max) {
      this.refused++;
      this.options.onRefused?.(this.stats());
      const retryAfterInSeconds = this.options.retryAfterInSeconds ?? 1;
      throw new DistilleryError(`The server has ${max} requests in flight (its limit); retry after ${retryAfterInSeconds} s.`, {
        status: 503,
        type: 'server_error',
        code: 'server_overloaded',
        retryable: true,
        retryAfterInSeconds,
      });
    }
    this.inFlight++;
    this.admitted++;
    if (this.inFlight > this.peak) this.peak = this.inFlight;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }

  stats(): AdmissionStats {
    return { inFlight: this.inFlight, peak: this.peak, admitted: this.admitted, refused: this.refused, maxInFlight: this.options.maxInFlight };
  }
}
