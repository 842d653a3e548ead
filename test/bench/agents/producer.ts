/**
 * One agent PROCESS of the agents benchmark (`npm run bench:agents`), started by the orchestrator with an
 * IPC channel. It streams the token runs it is given, the way an agent does: each run awaits every emit,
 * then waits for its next token slot; every `toolEvery`-th slot is a tool call (`tool_executing` then
 * `tool_completed`). Either side: agent-bridge (the agent SDK) or the naive glue (`queue.add` per token).
 *
 * Every emitted unit carries its index `k` in the run (a token's text is `"<k> "`, a tool event's
 * args/result hold `k`), so the watchers can count lost, duplicated and reordered units whatever the
 * coalescing does to event boundaries. It reports what it sent, how late its emits ran behind their
 * schedule, and its own CPU time.
 */
import { randomUUID } from 'node:crypto';
import { AgentPublisher, type RunHandle } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import type { EventEnvelope } from '@agent-bridge/protocol';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { GoMessage, ProducerMessage, ProducerReport, Side } from './messages';

let publisher: AgentPublisher | null = null;
let naiveQueue: Queue | null = null;
let naiveConn: Redis | null = null;
let handles = new Map<string, RunHandle>();

function send(
  msg: ProducerReport | { type: 'ready' } | { type: 'prepared' } | { type: 'error'; message: string },
): void {
  process.send?.(msg);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A tool call's padding: tool args and results are larger than tokens. */
const TOOL_TEXT = 'q'.repeat(120);

interface Emitter {
  token(runId: string, k: number): Promise<unknown>;
  tool(runId: string, k: number): Promise<unknown>;
}

function oursEmitter(): Emitter {
  return {
    token: (runId, k) => handles.get(runId)!.thinking(`${k} `),
    async tool(runId, k) {
      const h = handles.get(runId)!;
      const { toolCallId } = await h.toolExecuting({
        tool: 'search',
        args: { k, q: TOOL_TEXT },
        toolCallId: `call-${k}`,
      });
      await h.toolCompleted({ toolCallId, tool: 'search', result: { k: k + 1, text: TOOL_TEXT } });
    },
  };
}

function naiveEmitter(): Emitter {
  const seqs = new Map<string, number>();
  const add = (runId: string, type: string, payload: unknown): Promise<unknown> => {
    const seq = (seqs.get(runId) ?? 0) + 1;
    seqs.set(runId, seq);
    const event: EventEnvelope = { id: `evt-${randomUUID()}`, runId, seq, epoch: 0, type, ts: Date.now(), payload };
    return naiveQueue!.add('event', event, { removeOnComplete: { count: 1_000 } });
  };
  return {
    token: (runId, k) => add(runId, 'agent_thinking', { delta: `${k} ` }),
    async tool(runId, k) {
      await add(runId, 'tool_executing', { toolCallId: `call-${k}`, tool: 'search', args: { k, q: TOOL_TEXT } });
      await add(runId, 'tool_completed', {
        toolCallId: `call-${k}`,
        tool: 'search',
        result: { k: k + 1, text: TOOL_TEXT },
      });
    },
  };
}

/** Streams one run until `endAt`; returns units sent (k of the last one) and pushes each emit's lateness. */
async function stream(e: Emitter, runId: string, go: GoMessage, firstAt: number, lateness: number[]): Promise<number> {
  let k = 0;
  for (let slot = 0; ; slot++) {
    const due = firstAt + slot * go.intervalMs;
    let now = Date.now();
    if (due > now) {
      await sleep(due - now);
      now = Date.now();
    }
    if (now >= go.endAt || (go.maxUnitsPerRun > 0 && k >= go.maxUnitsPerRun)) return k;
    lateness.push(Math.max(0, now - due));
    if (go.toolEvery > 0 && slot % go.toolEvery === go.toolEvery - 1) {
      await e.tool(runId, k + 1);
      k += 2;
    } else {
      await e.token(runId, ++k);
    }
  }
}

async function go(msg: GoMessage): Promise<void> {
  const e = msg.side === 'ours' ? oursEmitter() : naiveEmitter();
  const runIds = [...msg.runIds];
  const lateness: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const start = Math.max(t0, msg.startAt);
  // Runs start spread over one interval, as independent agents would.
  const sent = await Promise.all(
    runIds.map((runId, i) => stream(e, runId, msg, start + (msg.intervalMs * i) / runIds.length, lateness)),
  );
  if (msg.side === 'ours') {
    // Ends the runs' token windows (what a run's end does) and waits until the queue has everything.
    await Promise.all([...handles.values()].map((h) => h.complete({ bench: true })));
  }
  const cpu = process.cpuUsage(cpu0);
  lateness.sort((a, b) => a - b);
  const pct = (p: number): number =>
    lateness[Math.min(lateness.length - 1, Math.floor((p / 100) * lateness.length))] ?? 0;
  send({
    type: 'report',
    sent: Object.fromEntries(runIds.map((r, i) => [r, sent[i]!])),
    emits: lateness.length,
    cpuUs: cpu.user + cpu.system,
    wallMs: Date.now() - t0,
    lateness: { p50: pct(50), p99: pct(99), max: lateness.at(-1) ?? 0 },
  });
}

async function prepare(side: Side, runs: { runId: string; userId: string }[]): Promise<void> {
  for (const h of handles.values()) h.close();
  handles = new Map();
  if (side === 'ours') {
    for (const r of runs)
      handles.set(r.runId, await publisher!.startRun({ runId: r.runId, userId: r.userId, agent: 'bench' }));
  }
  send({ type: 'prepared' });
}

process.on('message', (raw: ProducerMessage) => {
  const run = async (): Promise<void> => {
    switch (raw.type) {
      case 'init': {
        const config = loadConfig({ env: raw.env });
        publisher = await AgentPublisher.create({ config, name: 'bench-agent' });
        const url = new URL(raw.env['REDIS_URL']!);
        naiveConn = new Redis({ host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null });
        naiveQueue = new Queue(raw.naiveQueue, { connection: naiveConn, prefix: raw.naivePrefix });
        await naiveQueue.waitUntilReady();
        send({ type: 'ready' });
        return;
      }
      case 'prepare':
        return prepare(raw.side, raw.runs);
      case 'go':
        return go(raw);
      case 'stop':
        await publisher?.close();
        await naiveQueue?.close();
        naiveConn?.disconnect();
        process.exit(0);
    }
  };
  run().catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
});
process.on('disconnect', () => process.exit(0));
