import type {
  Arm,
  CallOptions,
  ChatModelRequest,
  ChatModelResult,
  ChatStreamEvent,
  FinishReason,
  Usage,
} from '../chat/chat-model-types.js';
import type { ChatCompletionRequest, ChatMessage } from '../chat/chat-request-schema.js';
import { DistilleryError, isAbortError, summarizeError, UpstreamError } from '../errors.js';
import type { ArmOutput, PairRecord } from '../pairs/pair-record.js';
import { PairRedactor } from '../pairs/redaction.js';
import type { ChatInvocation, ChatModel, ChatService, Clock, GatewayResult, GatewayStream, ModelResolver, PairSink } from '../ports.js';
import type { TaskRuntime } from '../tasks/task-catalog.js';
import type { TaskConfig } from '../tasks/task-schema.js';
import { decideRoute, type RouteDecision } from './decide-route.js';

// The chat use case: decide the route, call the arms (served, shadow, cascade, fallback), answer,
// and hand one pair record per request to the pair writer in the background. It knows nothing of
// HTTP; src/http/ maps its results and errors onto the OpenAI wire format.

export interface ArmPricer {
  (model: ChatModel, call: { usage?: Usage; latencyInMs: number }): number | undefined;
}

export interface ChatGatewayDeps {
  models: ModelResolver;
  pairs: PairSink;
  clock: Clock;
  random: () => number;
  price?: ArmPricer;
  /** Failures of background work (shadow calls, pair hand-off); never given prompt text. */
  onBackgroundError?: (err: unknown) => void;
  /** Called with every pair handed to the writer (metrics: requests per arm, latency, cost, agreement). */
  onPair?: (pair: PairRecord) => void;
}

const now = () => globalThis.performance.now();

function toModelRequest(request: ChatCompletionRequest): ChatModelRequest {
  const { model: _m, stream: _s, stream_options: _so, store: _st, ...rest } = request;
  return rest;
}

/** Errors after which the other arm may answer: upstream failures and time-outs, not bad input. */
function canFallBack(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.upstreamStatus === undefined || err.upstreamStatus >= 408;
  if (err instanceof DistilleryError) return err.status >= 500;
  return !isAbortError(err);
}


export class ChatGateway implements ChatService {
  constructor(private readonly deps: ChatGatewayDeps) {}

  private async prepare(inv: ChatInvocation) {
    const task = inv.task.config;
    const teacher = this.deps.models.teacher(task);
    const student = task.student ? await this.deps.models.student(task, { abortSignal: inv.abortSignal }) : undefined;
    const canaryShare = student && this.deps.models.canaryShare ? await this.deps.models.canaryShare(task, student) : undefined;
    const shadowRate = student && this.deps.models.shadowRate ? await this.deps.models.shadowRate(task, student) : undefined;
    const onlineThreshold = student && this.deps.models.cascadeThreshold ? await this.deps.models.cascadeThreshold(task, student) : undefined;
    const decision = decideRoute(
      task.routing,
      {
        user: inv.request.user,
        metadata: inv.request.metadata,
        forcedArm: inv.forcedArm,
        studentAvailable: student !== undefined,
        ...(canaryShare !== undefined ? { canaryShare } : {}),
        ...(student?.cascadeCalibration ? { studentCalibration: student.cascadeCalibration } : {}),
        ...(shadowRate !== undefined ? { shadowRate } : {}),
        ...(onlineThreshold ? { onlineThreshold } : {}),
      },
      this.deps.random,
    );
    const models: Record<Arm, ChatModel | undefined> = { teacher, student };
    return new Exchange(this.deps, inv, decision, models, toModelRequest(inv.request));
  }

  async complete(inv: ChatInvocation): Promise<GatewayResult> {
    const ex = await this.prepare(inv);
    const { decision } = ex;
    const shadow = decision.shadow ? ex.runInBackground(decision.shadow) : undefined;
    // If the shadow already asked the arm we now need, wait for that answer instead of asking twice.
    // A shadow asked for one choice (see runInBackground) cannot stand in for an answer of n > 1.
    const answer = (arm: Arm, role: ArmOutput['role']) =>
      shadow && decision.shadow === arm && !(inv.request.n! > 1) ? ex.adoptShadow(shadow, role) : ex.run(arm, role, inv.abortSignal);
    let servedArm: Arm = decision.primary;
    let result: ChatModelResult;
    try {
      try {
        result = await ex.run(decision.primary, decision.cascade ? 'cascade_first' : 'served', inv.abortSignal);
      } catch (err) {
        const fallbackArm = decision.fallback;
        if (!fallbackArm || !canFallBack(err) || inv.abortSignal?.aborted) throw err;
        ex.reason += `; fallback to ${fallbackArm} after ${servedArm} failed (${summarizeError(err).code})`;
        ex.setRole(servedArm, 'fallback_failed');
        servedArm = fallbackArm;
        result = await answer(fallbackArm, 'served');
        return { arm: servedArm, model: result.model, reason: ex.reason, result, logged: ex.log(servedArm, shadow) };
      }
      const escalation = decision.cascade ? ex.escalationReason(result) : undefined;
      if (escalation) {
        ex.reason += `; escalated: ${escalation}`;
        try {
          result = await answer('teacher', 'escalated');
          servedArm = 'teacher';
        } catch (err) {
          // The student did answer; a low-confidence answer beats an error when the teacher is down.
          if (!decision.fallback || !canFallBack(err) || inv.abortSignal?.aborted) throw err;
          ex.reason += `; teacher failed (${summarizeError(err).code}), served the student's answer`;
          ex.setRole('student', 'served');
        }
      } else if (decision.cascade) {
        ex.setRole('student', 'served');
      }
    } catch (err) {
      void ex.log(servedArm, shadow);
      throw err;
    }
    return { arm: servedArm, model: result.model, reason: ex.reason, result, logged: ex.log(servedArm, shadow) };
  }

  async stream(inv: ChatInvocation): Promise<GatewayStream> {
    const ex = await this.prepare(inv);
    const { decision } = ex;
    const shadow = decision.shadow ? ex.runInBackground(decision.shadow) : undefined;

    // A cascade must see the student's whole answer before it can decide, so the student runs
    // unstreamed (in-process students answer in microseconds) and the teacher streams if needed.
    if (decision.cascade) {
      try {
        const first = await ex.run('student', 'cascade_first', inv.abortSignal);
        const escalation = ex.escalationReason(first);
        if (!escalation) {
          ex.setRole('student', 'served');
          void ex.log('student', shadow);
          return { arm: 'student', model: first.model, reason: ex.reason, events: resultAsEvents(first) };
        }
        ex.reason += `; escalated: ${escalation}`;
        return await ex.openStream('teacher', 'escalated', inv.abortSignal, shadow);
      } catch (err) {
        if (!decision.fallback || !canFallBack(err) || inv.abortSignal?.aborted) {
          void ex.log('student', shadow);
          throw err;
        }
        ex.reason += `; fallback to teacher after student failed (${summarizeError(err).code})`;
        ex.setRole('student', 'fallback_failed');
        return ex.openStream('teacher', 'served', inv.abortSignal, shadow);
      }
    }

    try {
      return await ex.openStream(decision.primary, 'served', inv.abortSignal, shadow);
    } catch (err) {
      const fallbackArm = decision.fallback;
      if (!fallbackArm || !canFallBack(err) || inv.abortSignal?.aborted) {
        void ex.log(decision.primary, shadow);
        throw err;
      }
      ex.reason += `; fallback to ${fallbackArm} after ${decision.primary} failed (${summarizeError(err).code})`;
      ex.setRole(decision.primary, 'fallback_failed');
      return ex.openStream(fallbackArm, 'served', inv.abortSignal, shadow);
    }
  }
}

async function* resultAsEvents(result: ChatModelResult): AsyncIterable<ChatStreamEvent> {
  if (result.text) yield { type: 'delta', text: result.text };
  for (const [index, t] of (result.toolCalls ?? []).entries()) yield { type: 'tool_call_delta', index, id: t.id, name: t.function.name, arguments: t.function.arguments };
  if (result.logprobs?.length) yield { type: 'logprobs', logprobs: result.logprobs };
  yield { type: 'finish', finishReason: result.finishReason, usage: result.usage, model: result.model, confidence: result.confidence };
}

/** The state of one request while its arms run: outputs so far, the reason, the pair to log. */
class Exchange {
  readonly outputs: Partial<Record<Arm, ArmOutput>> = {};
  readonly createdAt: string;
  reason: string;

  constructor(
    private readonly deps: ChatGatewayDeps,
    private readonly inv: ChatInvocation,
    readonly decision: RouteDecision,
    private readonly models: Record<Arm, ChatModel | undefined>,
    private readonly modelRequest: ChatModelRequest,
  ) {
    this.createdAt = new Date(deps.clock.now()).toISOString();
    this.reason = decision.reason;
  }

  private model(arm: Arm): ChatModel {
    const m = this.models[arm];
    if (!m) throw new DistilleryError(`No ${arm} model is available for this task.`, { status: 503, type: 'server_error', code: 'arm_unavailable' });
    return m;
  }

  private record(arm: Arm, role: ArmOutput['role'], model: ChatModel, started: number, result?: ChatModelResult, err?: unknown) {
    const latencyInMs = now() - started;
    // A student is recorded under its version id (what the canary, the adaptive shadow and the online
    // τ filter pairs by); a remote student answers with its runtime's own model name, which is not it.
    const out: ArmOutput = { model: arm === 'student' ? model.id : (result?.model ?? model.id), role, latencyInMs };
    if (result) {
      out.text = result.text;
      out.finishReason = result.finishReason;
      out.usage = result.usage;
      if (result.logprobs) out.logprobs = result.logprobs;
      if (result.confidence !== undefined) out.confidence = result.confidence;
      // A teacher's distribution is a soft label for training; the student's is read by nothing and
      // would be most of a student pair's bytes (150 numbers for CLINC150): its confidence stays.
      if (arm === 'teacher' && result.labelProbabilities) out.labelProbabilities = result.labelProbabilities;
    }
    if (err !== undefined) out.error = summarizeError(err);
    const cost = this.deps.price?.(model, { usage: result?.usage, latencyInMs });
    if (cost !== undefined) out.costUsd = cost;
    this.outputs[arm] = out;
  }

  /** The task's deadlines for one arm call; the model's own limits apply when they are smaller. */
  private callOptions(signal: AbortSignal | undefined): CallOptions {
    const { timeoutInMs, idleTimeoutInMs, deadlineInMs } = this.inv.task.config.routing;
    return {
      ...(signal ? { abortSignal: signal } : {}),
      timeoutInMs,
      ...(idleTimeoutInMs !== undefined ? { idleTimeoutInMs } : {}),
      ...(deadlineInMs !== undefined ? { deadlineInMs } : {}),
    };
  }

  async run(arm: Arm, role: ArmOutput['role'], signal: AbortSignal | undefined, request = this.modelRequest): Promise<ChatModelResult> {
    const model = this.model(arm);
    const started = now();
    try {
      // Each adapter enforces the deadlines itself (total and idle, one timer pair per call);
      // combining signals here would cost more per request than the rest of the routing.
      const result = await model.generate(request, this.callOptions(signal));
      this.record(arm, role, model, started, result);
      return result;
    } catch (err) {
      this.record(arm, role, model, started, undefined, err);
      throw err;
    }
  }

  /** Starts the other arm without awaiting it; its failure is recorded, never thrown. */
  runInBackground(arm: Arm): Promise<ChatModelResult | undefined> {
    // Not tied to the client's signal: the shadow answer is wanted even if the client leaves.
    // The pair keeps one choice, so a shadow is asked for one even when the client asked for n.
    const request = this.modelRequest.n! > 1 ? { ...this.modelRequest, n: 1 } : this.modelRequest;
    return this.run(arm, 'shadow', undefined, request).catch((err) => {
      this.deps.onBackgroundError?.(err);
      return undefined;
    });
  }

  /** Waits for the shadow call's answer and re-labels it as the served one. */
  async adoptShadow(shadow: Promise<ChatModelResult | undefined>, role: ArmOutput['role']): Promise<ChatModelResult> {
    const result = await shadow;
    const arm = this.decision.shadow!;
    const out = this.outputs[arm];
    if (!result || !out) throw new UpstreamError(this.models[arm]?.id ?? arm, out?.error?.message ?? 'no answer');
    out.role = role;
    return result;
  }

  setRole(arm: Arm, role: ArmOutput['role']) {
    const out = this.outputs[arm];
    if (out) out.role = role;
  }

  escalationReason(result: ChatModelResult): string | undefined {
    const cascade = this.decision.cascade!;
    if (cascade.escalateOnInvalid) {
      // A forced tool call carries the label in its arguments (`{"label": …}`), which parseLabel reads.
      const answer = result.text || result.toolCalls?.[0]?.function.arguments || '';
      if (this.inv.task.parseLabel && this.inv.task.parseLabel(answer) === null) return 'student answer is not a valid label';
      const fmt = this.inv.request.response_format?.type;
      if ((fmt === 'json_object' || fmt === 'json_schema') && !isJson(result.text)) return 'student answer is not valid JSON';
    }
    if (result.confidence === undefined) return 'student reported no confidence';
    if (result.confidence < cascade.threshold) return `confidence ${result.confidence.toFixed(3)} < ${Number.isFinite(cascade.threshold) ? cascade.threshold : 'τ (none meets the target)'}`;
    return undefined;
  }

  /** Opens the arm's stream and waits for its first event, so a failure can still fall back. */
  async openStream(
    arm: Arm,
    role: ArmOutput['role'],
    signal: AbortSignal | undefined,
    shadow: Promise<ChatModelResult | undefined> | undefined,
  ): Promise<GatewayStream> {
    const model = this.model(arm);
    const started = now();
    const iterator = model.stream(this.modelRequest, this.callOptions(signal))[Symbol.asyncIterator]();
    let first: IteratorResult<ChatStreamEvent>;
    try {
      first = await iterator.next();
    } catch (err) {
      this.record(arm, role, model, started, undefined, err);
      throw err;
    }
    let text = '';
    let finish: { finishReason: FinishReason; usage?: Usage; model: string; confidence?: number } | undefined;
    const logprobs: NonNullable<ChatModelResult['logprobs']> = [];
    const self = this;
    async function* events(): AsyncIterable<ChatStreamEvent> {
      let failure: unknown;
      try {
        let next = first;
        while (!next.done) {
          const ev = next.value;
          // The pair keeps choice 0 (events of other choices, n > 1, carry their index).
          if (ev.type === 'delta') text += ev.choice ? '' : ev.text;
          else if (ev.type === 'logprobs' && !ev.choice) logprobs.push(...ev.logprobs);
          else if (ev.type === 'finish') finish = ev;
          yield ev;
          next = await iterator.next();
        }
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        if (failure === undefined && !finish) failure = new DistilleryError('The client closed the stream.', { status: 499, type: 'invalid_request_error', code: 'client_closed' });
        if (failure !== undefined) await iterator.return?.().catch(() => undefined);
        const result: ChatModelResult | undefined = finish
          ? {
              model: finish.model,
              text,
              finishReason: finish.finishReason,
              usage: finish.usage ?? { promptTokens: 0, completionTokens: 0 },
              ...(logprobs.length ? { logprobs } : {}),
              ...(finish.confidence !== undefined ? { confidence: finish.confidence } : {}),
            }
          : undefined;
        self.record(arm, role, model, started, result, failure);
        if (failure !== undefined && result === undefined && text) self.outputs[arm]!.text = text;
        void self.log(arm, shadow);
      }
    }
    return { arm, model: model.id, reason: this.reason, events: events() };
  }

  /** Builds the pair once the shadow (if any) has finished, and hands it to the writer. */
  async log(servedArm: Arm, shadow: Promise<unknown> | undefined): Promise<void> {
    if (this.inv.request.store === false) return;
    try {
      if (shadow) await shadow;
      const pair = await this.buildPair(servedArm);
      this.deps.pairs.enqueue(pair);
      this.deps.onPair?.(pair);
    } catch (err) {
      this.deps.onBackgroundError?.(err);
    }
  }

  /** Redaction yields to the event loop between large slices: it never holds other requests. */
  private async buildPair(servedArm: Arm): Promise<PairRecord> {
    const { request, task } = this.inv;
    const redactor = new PairRedactor(task.config.redaction);
    const messages: ChatMessage[] = [];
    for (const m of request.messages) messages.push(await redactor.message(m));
    const { model: _m, messages: _ms, user, metadata, stream: _s, stream_options: _so, store: _st, ...params } = request;
    const outputs: Partial<Record<Arm, ArmOutput>> = {};
    for (const arm of ['teacher', 'student'] as const) {
      const out = this.outputs[arm];
      if (out) outputs[arm] = out.text !== undefined ? { ...out, text: await redactor.text(out.text) } : { ...out };
    }
    const pair: PairRecord = {
      id: this.inv.requestId,
      task: task.config.name,
      tenant: this.inv.tenant,
      ...(this.inv.keyId ? { keyId: this.inv.keyId } : {}),
      createdAt: this.createdAt,
      request: {
        messages,
        params,
        ...(user !== undefined ? { user } : {}),
        ...(metadata ? { metadata } : {}),
      },
      servedArm,
      reason: this.reason,
      policy: this.decision.policy,
      ...outputs,
      source: this.inv.source ?? { kind: 'traffic' },
    };
    if (task.parseLabel) {
      const teacherOk = this.outputs.teacher && !this.outputs.teacher.error ? this.outputs.teacher.text : undefined;
      const studentOk = this.outputs.student && !this.outputs.student.error ? this.outputs.student.text : undefined;
      const teacherLabel = teacherOk !== undefined ? task.parseLabel(teacherOk) : undefined;
      pair.labels = {
        ...(teacherLabel !== undefined ? { teacher: teacherLabel } : {}),
        ...(studentOk !== undefined ? { student: task.parseLabel(studentOk) } : {}),
        usableForTraining: teacherLabel != null,
      };
    }
    if (redactor.marks.length) pair.redacted = redactor.marks;
    return pair;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

