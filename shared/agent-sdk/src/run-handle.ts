import { randomUUID } from 'node:crypto';
import {
  CANCELLED_CODE,
  EventIdSchema,
  type EventEnvelope,
  IllegalStateError,
  InvalidEventError,
  StandardEventType,
  describeIssues,
  toIssues,
  validateEvent,
} from '@agent-bridge/protocol';
import { failSpan, injectTraceparent, metrics, startProducerSpan } from '@agent-bridge/telemetry';
import { ThinkingCoalescer } from './thinking-coalescer';
import type { CoalesceSettings } from './thinking-window';

/** What an accepted emit resolves to: the event's id and its seq in the run. */
export interface EmittedEvent {
  id: string;
  seq: number;
}

/** Options of {@link RunHandle.emit}. */
export interface EmitOptions {
  /**
   * Event id (the idempotency key). Emitting again with the id of an earlier emit of this handle does not
   * number a new event: it returns the earlier result, or re-enqueues the same envelope (same seq) when the
   * earlier attempt failed. @defaultValue a new random id
   */
  id?: string;
  /** W3C trace context of the emit, carried in the envelope. */
  traceparent?: string;
}

/** What a handle needs from its publisher (internal). */
export interface RunHandleDeps {
  maxPayloadBytes: number;
  /** Coalescing of `thinking()` deltas. */
  coalesce: CoalesceSettings;
  /** Throws when the publisher is closed or the queue is over its depth bound. */
  admit(): void;
  /** Enqueues the envelope (batched); resolves once BullMQ has it. */
  enqueue(event: EventEnvelope): Promise<void>;
  /** The run ended or was closed: stop listening for its cancellation. */
  release(handle: RunHandle): void;
}

type HandleState = 'open' | 'ended' | 'closed';

interface Sent {
  /** Kept only while the enqueue is pending or has failed (for a retry); dropped once it succeeded. */
  event: EventEnvelope | null;
  promise: Promise<EmittedEvent>;
  failed: boolean;
}

/** Most event ids a handle remembers for idempotent re-emits. */
const REMEMBERED_IDS = 10_000;

const TERMINAL = new Set<string>([StandardEventType.AgentCompleted, StandardEventType.AgentError]);

/**
 * One run of an agent, from `AgentPublisher.startRun()`. Every emit gets the next `seq` of the run at the
 * moment of the call (emits need not await each other: their order is the call order), is validated and
 * size-checked before anything is enqueued, and resolves once the event is on the queue.
 *
 * A terminal event (`complete()`, `fail()`, `cancel()`) ends the run: later emits throw
 * {@link IllegalStateError}. Cancellation requested by the user (`cancel_run`) aborts {@link signal} and
 * calls the {@link onCancel} listeners; the agent then stops and calls `cancel()` to record it.
 */
export class RunHandle {
  private state: HandleState = 'open';
  private seq: number;
  private readonly controller = new AbortController();
  private readonly sent = new Map<string, Sent>();
  private readonly coalescer: ThinkingCoalescer;

  /** @internal Created by `AgentPublisher.startRun()`. */
  constructor(
    readonly runId: string,
    readonly userId: string,
    readonly agent: string,
    startSeq: number,
    private readonly deps: RunHandleDeps,
  ) {
    this.seq = startSeq;
    this.coalescer = new ThinkingCoalescer(deps.coalesce, deps.maxPayloadBytes, runId, (event) => this.dispatch(event));
  }

  /** Aborted when the user asked to cancel the run. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the user asked to cancel the run. */
  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** Seq of the last event numbered by this handle (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  /** True once a terminal event was emitted or the handle was closed. */
  get ended(): boolean {
    return this.state !== 'open';
  }

  /**
   * Calls `listener` once when the run is cancelled (at once, asynchronously, if it already is).
   * Returns a function that removes the listener.
   */
  onCancel(listener: () => void): () => void {
    const signal = this.controller.signal;
    if (signal.aborted) {
      queueMicrotask(listener);
      return () => undefined;
    }
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  }

  /** @internal The publisher saw a cancel request for this run. */
  markCancelled(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error(`run ${this.runId} cancelled`));
  }

  /**
   * Emits an event of any type (standard types are checked against their payload schema).
   *
   * @throws (rejects) InvalidEventError, PayloadTooLargeError — before anything is numbered or enqueued
   * @throws (rejects) BackpressureError — the events queue is over `maxQueueDepth`; retry later
   * @throws (rejects) IllegalStateError — the run has ended or the publisher is closed
   */
  async emit(type: string, payload?: unknown, options: EmitOptions = {}): Promise<EmittedEvent> {
    // Numbered now, in call order (an async function runs synchronously up to its first await); what the
    // checks throw reaches the caller as the rejection.
    return await this.emitOrThrow(type, payload, options);
  }

  private emitOrThrow(type: string, payload: unknown, options: EmitOptions): Promise<EmittedEvent> {
    if (options.id !== undefined) {
      const prev = this.sent.get(options.id);
      if (prev) {
        if (!prev.failed || !prev.event) return prev.promise;
        // A retry of an emit whose enqueue failed: the same envelope, the same seq.
        this.deps.admit();
        return this.track(prev.event);
      }
      const id = EventIdSchema.safeParse(options.id);
      if (!id.success) {
        const issues = toIssues(id.error).map((i) => ({ ...i, path: 'id' }));
        throw new InvalidEventError(`invalid event id: ${describeIssues(issues)}`, issues);
      }
    }
    if (this.state !== 'open') throw new IllegalStateError(`run ${this.runId} ${this.state}`, `emit ${type}`);
    this.coalescer.throwFailure();
    const body = payload === undefined ? null : payload;
    validateEvent(type, body, this.deps.maxPayloadBytes);
    // Any other emit closes the run's open thinking window first: the joined delta keeps its place.
    void this.coalescer.send();
    this.deps.admit();
    const event: EventEnvelope = {
      id: options.id ?? `evt-${randomUUID()}`,
      runId: this.runId,
      seq: ++this.seq,
      epoch: 0,
      type,
      ts: Date.now(),
      payload: body,
    };
    if (TERMINAL.has(type)) {
      this.state = 'ended';
      this.deps.release(this);
    }
    return this.dispatch(event, options.traceparent);
  }

  /** Starts the emit span (PRODUCER), puts its W3C context in the envelope (unless given) and enqueues. */
  private dispatch(event: EventEnvelope, traceparentOption?: string): Promise<EmittedEvent> {
    const span = startProducerSpan(this.runId, event.type, { eventId: event.id });
    const traceparent = traceparentOption ?? injectTraceparent(span);
    if (traceparent !== undefined) event.traceparent = traceparent;
    const emitted = this.track(event);
    void emitted.then(
      () => {
        metrics.eventsEmitted.add(1);
        span.end();
      },
      (err: unknown) => failSpan(span, err),
    );
    return emitted;
  }

  private track(event: EventEnvelope): Promise<EmittedEvent> {
    const entry: Sent = {
      event,
      failed: false,
      promise: this.deps.enqueue(event).then(
        () => {
          entry.event = null; // bounded memory: a re-emit of this id only needs the result
          return { id: event.id, seq: event.seq };
        },
        (err: unknown) => {
          entry.failed = true;
          throw err;
        },
      ),
    };
    this.sent.set(event.id, entry);
    if (this.sent.size > REMEMBERED_IDS) {
      const oldest = this.sent.keys().next().value;
      if (oldest !== undefined) this.sent.delete(oldest);
    }
    return entry.promise;
  }

  /** `agent_started { agent, input }`. */
  started(input?: unknown): Promise<EmittedEvent> {
    return this.emit(
      StandardEventType.AgentStarted,
      input === undefined ? { agent: this.agent } : { agent: this.agent, input },
    );
  }

  /**
   * `agent_thinking { delta }` — a piece of the agent's visible reasoning or answer text.
   *
   * Coalescing (`config.events.thinkingCoalesceMs` > 0, the default): consecutive deltas of the run within
   * the window travel as ONE `agent_thinking` event whose delta is their exact concatenation, in order.
   * The first delta opens the window and takes the event's id and seq; the window closes when its time
   * is up, when it is full (`thinkingCoalesceMaxBytes` / `thinkingCoalesceMaxDeltas`), when the run
   * emits anything else, ends or is closed, or on {@link flush}. The promise then resolves as soon as the
   * delta is in the window (with the window event's id and seq), so an agent awaiting each token is never
   * held up by the round trip; the window's enqueue happens in the background, and should it fail after
   * the publisher's retries, the run's next emit (or {@link flush}) rejects with that error.
   * With coalescing off, it resolves once the event is on the queue, like {@link emit}.
   */
  async thinking(delta: string): Promise<EmittedEvent> {
    if (!this.coalescer.enabled || typeof delta !== 'string') {
      return await this.emit(StandardEventType.AgentThinking, { delta });
    }
    if (this.state !== 'open') {
      throw new IllegalStateError(`run ${this.runId} ${this.state}`, `emit ${StandardEventType.AgentThinking}`);
    }
    this.coalescer.throwFailure();
    const current = this.coalescer.add(delta, () => {
      this.deps.admit();
      return ++this.seq;
    });
    // Too large to share a window: its own event (validated, size-checked, enqueued as any emit).
    return current ?? (await this.emit(StandardEventType.AgentThinking, { delta }));
  }

  /**
   * Sends the run's open thinking window now (if any) and resolves once everything this handle has
   * coalesced is on the queue; rejects with the error of a window whose enqueue failed.
   */
  flush(): Promise<void> {
    return this.coalescer.flush();
  }

  /** `tool_executing { toolCallId, tool, args }`; `toolCallId` defaults to a new id, returned with the result. */
  async toolExecuting(call: {
    tool: string;
    args?: unknown;
    toolCallId?: string;
  }): Promise<EmittedEvent & { toolCallId: string }> {
    const toolCallId = call.toolCallId ?? `call-${randomUUID()}`;
    const payload: Record<string, unknown> = { toolCallId, tool: call.tool };
    if (call.args !== undefined) payload['args'] = call.args;
    const res = await this.emit(StandardEventType.ToolExecuting, payload);
    return { ...res, toolCallId };
  }

  /** `tool_completed { toolCallId, tool, result?, error? }`. */
  toolCompleted(call: { toolCallId: string; tool: string; result?: unknown; error?: string }): Promise<EmittedEvent> {
    const payload: Record<string, unknown> = { toolCallId: call.toolCallId, tool: call.tool };
    if (call.result !== undefined) payload['result'] = call.result;
    if (call.error !== undefined) payload['error'] = call.error;
    return this.emit(StandardEventType.ToolCompleted, payload);
  }

  /** Terminal `agent_completed { output }`: the run's status becomes `completed`. */
  complete(output?: unknown): Promise<EmittedEvent> {
    return this.emit(StandardEventType.AgentCompleted, output === undefined ? {} : { output });
  }

  /** Terminal `agent_error { message, code? }`: the run's status becomes `failed`. */
  fail(message: string, code?: string): Promise<EmittedEvent> {
    return this.emit(StandardEventType.AgentError, code === undefined ? { message } : { message, code });
  }

  /**
   * Terminal `agent_error { message, code: "cancelled" }`: the run's status becomes `cancelled`. Call it
   * when the agent stopped because of {@link signal}.
   */
  cancel(reason = 'cancelled by the user'): Promise<EmittedEvent> {
    return this.emit(StandardEventType.AgentError, { message: reason, code: CANCELLED_CODE });
  }

  /** Stops listening for cancellation without ending the run (the process hands the run over). Idempotent. */
  close(): void {
    void this.coalescer.send();
    if (this.state === 'open') this.state = 'closed';
    this.deps.release(this);
  }
}
