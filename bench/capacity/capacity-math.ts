import { estimateRequestCharge } from '../../src/adapters/cosmos/request-charge.js';
import { DEFAULT_PRICING } from '../../src/core/eval/pricing.js';
import { dayBucketKey, fnv1a } from '../../src/adapters/cosmos/pair-partition-key.js';
import { HOURS_PER_MONTH, PLATFORM_LIMITS, PLATFORM_PRICES, SECONDS_PER_MONTH } from './platform-prices.js';

// The capacity model as pure arithmetic over a workload: what one chat API with one busy task
// needs from Cosmos DB, Functions Flex Consumption, Service Bus and Blob, and what it costs per
// month at list prices. Every input is a named assumption printed next to the result.

export interface Workload {
  requestsPerSecond: number;
  /** Share of requests the student answers (0..1). */
  studentShare: number;
  /** Share of student-served requests also sent to the teacher in the background (shadow sample). */
  shadowShare: number;
  /** Stored pair document size, KB. */
  pairKb: number;
  retentionDays: number;
  /** RU per pair written through the adapter (document + amortised counter/day writes). */
  ruPerPairWrite: number;
  /** RU per pair read back by re-distillation (each pair read about once). */
  ruPerPairRead: number;
  /** Hash buckets per task, tenant and day (pair-partition-key.ts). */
  bucketsPerDay: number;
  /** Gateway CPU per request, ms (BENCHMARKS.md, gateway overhead) plus the student's forward pass. */
  cpuMsPerRequest: number;
  /** Wall time of a teacher-served request (upstream latency), ms. */
  teacherLatencyMs: number;
  /** Wall time of a student-served request, ms. */
  studentLatencyMs: number;
  instanceMemoryMb: 512 | 2048 | 4096;
  /** Target CPU utilisation of an instance (headroom for bursts and GC). */
  cpuTarget: number;
  /** New pairs per task that trigger a re-distillation job, and a job's duration. */
  redistillThreshold: number;
  jobMinutes: number;
  /** Service Bus operations per job (send, receive, complete, lock renewals, stage-1 chunks). */
  serviceBusOpsPerJob: number;
  /** Blob writes and reads per job (dataset, model, report) and student loads per instance and promotion. */
  blobWritesPerJob: number;
  blobReadsPerJob: number;
  /** Teacher price per request (USD), from the model price table. */
  teacherUsdPerRequest: number;
}

export interface CapacityRow {
  rps: number;
  pairsPerDay: number;
  cosmosRuPerSecond: number;
  /** RU/s to provision so the busiest physical partition gets its share (provisionedForSkew). */
  provisionedRuPerSecond: number;
  hottestPartitionRuPerSecond: number;
  storageGbPerDay: number;
  storageGbRetained: number;
  physicalPartitions: number;
  logicalPartitionGbPerDay: number;
  perInstanceConcurrency: number;
  instances: number;
  executionsPerMonth: number;
  gbSecondsPerMonth: number;
  jobsPerDay: number;
  serviceBusOpsPerMonth: number;
  blobWritesPerMonth: number;
  blobReadsPerMonth: number;
  monthlyUsd: { cosmosThroughput: number; cosmosStorage: number; functions: number; serviceBus: number; blob: number; platform: number };
  teacherUsd: { allTeacher: number; withStudent: number; saved: number };
}

const P = PLATFORM_PRICES;
const vcpuOf = (memoryMb: number) => (memoryMb / 2048) * PLATFORM_LIMITS.functionsFlexVcpuPer2048Mb.value;

/**
 * The design workload (docs/capacity.md): 80% student share, 2 KB pairs, 30-day retention, GPT-4o
 * teacher. Measured inputs: CPU per request from BENCHMARKS.md (gateway overhead: 0.88 ms with
 * pairs logged; ONNX student 33–41 µs); RU per pair from the documented size table (the bench
 * replaces them with the adapter's own accounting).
 */
export const DESIGN_WORKLOAD: Omit<Workload, 'requestsPerSecond' | 'teacherUsdPerRequest'> = {
  studentShare: 0.8,
  shadowShare: 0.05,
  pairKb: 2,
  retentionDays: 30,
  ruPerPairWrite: estimateRequestCharge('write', 2048),
  ruPerPairRead: estimateRequestCharge('read', 2048),
  bucketsPerDay: 32,
  cpuMsPerRequest: 0.88 + 0.04,
  teacherLatencyMs: 1500,
  studentLatencyMs: 3,
  instanceMemoryMb: 2048,
  cpuTarget: 0.6,
  redistillThreshold: 100_000,
  jobMinutes: 30,
  serviceBusOpsPerJob: 20,
  blobWritesPerJob: 10,
  blobReadsPerJob: 10,
};

/**
 * Flex Consumption settings for a workload at its design load and its peak load: HTTP concurrency
 * per instance (rounded down to tens) and the instance cap (2.5× the busy instances at peak, for
 * bursts and instances still starting; never below the plan's minimum cap).
 */
export function flexSettings(w: Workload, peakRequestsPerSecond: number): { instanceMemoryMB: number; httpPerInstanceConcurrency: number; maximumInstanceCount: number } {
  const peakInstances = instancesNeeded({ ...w, requestsPerSecond: peakRequestsPerSecond });
  return {
    instanceMemoryMB: w.instanceMemoryMb,
    httpPerInstanceConcurrency: Math.floor(perInstanceConcurrency(w) / 10) * 10,
    maximumInstanceCount: Math.max(PLATFORM_LIMITS.functionsFlexMinMaxInstances.value, Math.ceil(peakInstances * 2.5)),
  };
}

/** RU per pair from the documented size table: the document write, and one read by a job. */
export function documentedRuPerPair(pairKb: number): { write: number; read: number } {
  return { write: estimateRequestCharge('write', pairKb * 1024), read: estimateRequestCharge('read', pairKb * 1024) };
}

/**
 * HTTP requests one instance may hold: as many as keep its CPU at the target (Little's law: the
 * concurrent requests needed to use `cpuTarget` of the vCPUs at the mean latency), capped by Flex.
 */
export function perInstanceConcurrency(w: Workload): number {
  const meanLatencyMs = w.studentShare * w.studentLatencyMs + (1 - w.studentShare) * w.teacherLatencyMs;
  const byCpu = Math.floor((w.cpuTarget * vcpuOf(w.instanceMemoryMb) * meanLatencyMs) / w.cpuMsPerRequest);
  return Math.max(1, Math.min(PLATFORM_LIMITS.functionsFlexHttpConcurrencyMax.value, byCpu));
}

/** Busy instances: enough CPU at the target utilisation, and enough slots for the requests in flight. */
export function instancesNeeded(w: Workload): number {
  const cpuSecondsPerSecond = (w.requestsPerSecond * w.cpuMsPerRequest) / 1000;
  const meanLatencyMs = w.studentShare * w.studentLatencyMs + (1 - w.studentShare) * w.teacherLatencyMs;
  const inFlight = (w.requestsPerSecond * meanLatencyMs) / 1000;
  return Math.max(1, Math.ceil(cpuSecondsPerSecond / (w.cpuTarget * vcpuOf(w.instanceMemoryMb))), Math.ceil(inFlight / perInstanceConcurrency(w)));
}

export function serviceBusUsd(opsPerMonth: number): number {
  const base = P.serviceBusStandardBasePerHour.usd * HOURS_PER_MONTH;
  const tier = (from: number, to: number) => Math.max(0, Math.min(opsPerMonth, to) - from) / 1e6;
  return (
    base +
    tier(13e6, 100e6) * P.serviceBusStandardPerMillionOps13to100M.usd +
    tier(100e6, 2_500e6) * P.serviceBusStandardPerMillionOps100to2500M.usd +
    tier(2_500e6, Number.POSITIVE_INFINITY) * P.serviceBusStandardPerMillionOpsOver2500M.usd
  );
}

/**
 * Provisioned throughput is split evenly over physical partitions, but one day's writes of one
 * task land on only `buckets` logical partitions, hashed onto the physical ones: the busiest
 * physical partition must get its share. Returns the RU/s to provision so it does (≥ `needed`).
 * The service hashes keys with its own function; FNV-1a of the real keys stands in for it.
 */
export function provisionedForSkew(writeRuPerSecond: number, needed: number, buckets: number, physicalPartitions: number): number {
  if (physicalPartitions <= 1) return needed;
  const load = new Array<number>(physicalPartitions).fill(0);
  for (let h = 0; h < buckets; h++) load[fnv1a(dayBucketKey('intent', 'acme', '20260301', h)) % physicalPartitions]! += 1;
  const hottest = (writeRuPerSecond * Math.max(...load)) / buckets;
  return Math.max(needed, hottest * physicalPartitions);
}

export function capacityRow(w: Workload): CapacityRow {
  const rps = w.requestsPerSecond;
  const pairsPerDay = rps * 86_400;
  const cosmosRuPerSecond = rps * (w.ruPerPairWrite + w.ruPerPairRead);
  const hottestPartitionRuPerSecond = (rps * w.ruPerPairWrite) / w.bucketsPerDay; // one task, one tenant: the worst case
  const storageGbPerDay = (pairsPerDay * w.pairKb) / 1024 / 1024;
  const storageGbRetained = storageGbPerDay * w.retentionDays;
  const partitionsFor = (ru: number) =>
    Math.max(1, Math.ceil(ru / PLATFORM_LIMITS.cosmosPhysicalPartitionRuPerSecond.value), Math.ceil(storageGbRetained / PLATFORM_LIMITS.cosmosPhysicalPartitionGb.value));
  let physicalPartitions = partitionsFor(cosmosRuPerSecond);
  const skewed = provisionedForSkew(rps * w.ruPerPairWrite, cosmosRuPerSecond, w.bucketsPerDay, physicalPartitions);
  physicalPartitions = partitionsFor(skewed);
  const provisionedRu = Math.max(400, Math.ceil(skewed / 100) * 100);
  const concurrency = perInstanceConcurrency(w);
  const instances = instancesNeeded(w);
  const jobsPerDay = Math.min(pairsPerDay / w.redistillThreshold, (24 * 60) / w.jobMinutes);
  const jobsPerMonth = jobsPerDay * (HOURS_PER_MONTH / 24);
  const executionsPerMonth = rps * SECONDS_PER_MONTH + jobsPerMonth * w.serviceBusOpsPerJob;
  const gbSecondsPerMonth = instances * (w.instanceMemoryMb / 1024) * SECONDS_PER_MONTH;
  const serviceBusOpsPerMonth = jobsPerMonth * w.serviceBusOpsPerJob;
  const blobWritesPerMonth = jobsPerMonth * w.blobWritesPerJob;
  const blobReadsPerMonth = jobsPerMonth * (w.blobReadsPerJob + instances);
  const cosmosThroughput = Math.min(
    (provisionedRu / 100) * P.cosmosAutoscalePer100RuPerHour.usd * HOURS_PER_MONTH,
    // Serverless while it fits its per-container ceiling.
    cosmosRuPerSecond <= PLATFORM_LIMITS.cosmosServerlessRuPerSecond.value ? ((cosmosRuPerSecond * SECONDS_PER_MONTH) / 1e6) * P.cosmosServerlessPerMillionRu.usd : Infinity,
  );
  const cosmosStorage = storageGbRetained * P.cosmosStoragePerGbMonth.usd;
  const plan = DEFAULT_PRICING.functionsPlan; // Flex Consumption on-demand meters (price-table.ts); monthly free grant ignored
  const functions = gbSecondsPerMonth * plan.gbSecondUsd + (executionsPerMonth / 1e6) * plan.perMillionExecutionsUsd;
  const serviceBus = serviceBusUsd(serviceBusOpsPerMonth);
  const blob = (blobWritesPerMonth / 1e4) * P.blobHotWritePer10k.usd + (blobReadsPerMonth / 1e4) * P.blobHotReadPer10k.usd;
  const requestsPerMonth = rps * SECONDS_PER_MONTH;
  const allTeacher = requestsPerMonth * w.teacherUsdPerRequest;
  const withStudent = requestsPerMonth * ((1 - w.studentShare) + w.studentShare * w.shadowShare) * w.teacherUsdPerRequest;
  return {
    rps,
    pairsPerDay,
    cosmosRuPerSecond,
    provisionedRuPerSecond: provisionedRu,
    hottestPartitionRuPerSecond,
    storageGbPerDay,
    storageGbRetained,
    physicalPartitions,
    logicalPartitionGbPerDay: storageGbPerDay / w.bucketsPerDay,
    perInstanceConcurrency: concurrency,
    instances,
    executionsPerMonth,
    gbSecondsPerMonth,
    jobsPerDay,
    serviceBusOpsPerMonth,
    blobWritesPerMonth,
    blobReadsPerMonth,
    monthlyUsd: { cosmosThroughput, cosmosStorage, functions, serviceBus, blob, platform: cosmosThroughput + cosmosStorage + functions + serviceBus + blob },
    teacherUsd: { allTeacher, withStudent, saved: allTeacher - withStudent },
  };
}

/** Smallest power-of-two bucket count that keeps one task's busiest partition within `headroom` of both caps. */
export function bucketsNeeded(rps: number, ruPerPairWrite: number, pairKb: number, headroom = 0.5): number {
  const byRu = (rps * ruPerPairWrite) / (PLATFORM_LIMITS.cosmosPhysicalPartitionRuPerSecond.value * headroom);
  const byGb = (rps * 86_400 * pairKb) / 1024 / 1024 / (PLATFORM_LIMITS.cosmosLogicalPartitionGb.value * headroom);
  let n = 1;
  while (n < Math.max(byRu, byGb)) n *= 2;
  return n;
}
