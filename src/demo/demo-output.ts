import { MultiBar, Presets } from 'cli-progress';

// Where the demo writes: plain lines, or, on a terminal, progress bars with the lines printed
// above them (a job advancing while traffic flows must not tear the bar apart).

export type Print = (line: string) => void;

export interface ProgressBar {
  update(value: number, payload: Record<string, string>): void;
  stop(): void;
}

export class DemoOutput {
  #multi: MultiBar | undefined;
  #open = 0;

  constructor(
    readonly print: Print,
    /** Interactive bars (a terminal); otherwise the caller prints progress lines itself. */
    readonly bars: boolean,
  ) {}

  line(text: string): void {
    if (this.#multi) this.#multi.log(`${text}\n`);
    else this.print(text);
  }

  /** A bar while `bars` is on; otherwise undefined. */
  bar(label: string, total: number): ProgressBar | undefined {
    if (!this.bars) return undefined;
    this.#multi ??= new MultiBar({ hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
    const bar = this.#multi.create(total, 0, { arms: '' }, { format: `${label.padEnd(24)} {bar} {value}/{total}  {arms}` });
    this.#open++;
    return {
      update: (value, payload) => bar.update(value, payload),
      stop: () => {
        bar.stop();
        if (--this.#open === 0) {
          this.#multi?.stop();
          this.#multi = undefined;
        }
      },
    };
  }
}
