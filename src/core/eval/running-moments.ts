// Welford's running mean and variance: one pass, constant memory, numerically stable.

export class RunningMoments {
  n = 0;
  mean = 0;
  m2 = 0;
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  variance(): number {
    return this.n > 1 ? this.m2 / (this.n - 1) : 0;
  }
}
