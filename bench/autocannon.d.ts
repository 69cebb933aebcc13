// autocannon ships no types; the benchmarks use only this much of it.
declare module 'autocannon' {
  interface Histogram { average: number; p50: number; p99: number; total: number }
  interface Result { requests: Histogram; latency: Histogram; non2xx: number; errors: number }
  interface Options { url: string; method?: string; headers?: Record<string, string>; body?: string; connections?: number; duration?: number; amount?: number }
  export default function autocannon(options: Options): Promise<Result>;
}
