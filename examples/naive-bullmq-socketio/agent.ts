// The same agent written against raw BullMQ: the naive glue agent-bridge replaces. It works in a demo;
// what it lacks is marked MISSING (each is a numbered guarantee of agent-bridge, docs/guarantees.md).
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queue = new Queue('agent-events', { connection });
// MISSING: a run registry (who owns the run, its status) and cancellation from the user.
const runId = process.env.RUN_ID ?? randomUUID();

// MISSING: a per-run seq, so a watcher can neither order events nor notice one is lost.
// MISSING: idempotent retries: an add that timed out and is retried may be stored twice.
// MISSING: validation, size limits and backpressure (a stalled consumer lets the queue grow without bound).
const emit = (type: string, payload: unknown) => queue.add(type, { runId, type, payload, ts: Date.now() });

await emit('agent_started', { prompt: 'What is 6*7?' });
// MISSING: coalescing: one job per token.
for (const token of ['Let ', 'me ', 'compute ', 'that.']) await emit('agent_thinking', { delta: token });
const toolCallId = randomUUID();
await emit('tool_executing', { toolCallId, tool: 'calculator', args: { expression: '6*7' } });
await emit('tool_completed', { toolCallId, tool: 'calculator', result: 42 });
await emit('agent_completed', { answer: 42 });

await queue.close();
await connection.quit();
console.log(`run ${runId} published`);
