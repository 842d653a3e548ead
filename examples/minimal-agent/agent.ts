// A minimal agent: publishes one run to agent-bridge. Every watcher sees these events once, in this order,
// even across reconnects and bridge failovers. Run: REDIS_URL=redis://… USER_ID=… [RUN_ID=…] node agent.js
import { AgentPublisher } from '@agent-bridge/agent-sdk';

const publisher = await AgentPublisher.create({ redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
// RUN_ID: a run a watcher asked for (client.startRun); without it the agent starts a new run.
const run = await publisher.startRun({
  userId: process.env.USER_ID ?? 'user-1',
  agent: 'minimal',
  runId: process.env.RUN_ID,
});
run.onCancel(() => console.log('the user cancelled', run.runId));

await run.started({ prompt: 'What is 6*7?' });
for (const token of ['Let ', 'me ', 'compute ', 'that.']) await run.thinking(token);
const { toolCallId } = await run.toolExecuting({ tool: 'calculator', args: { expression: '6*7' } });
await run.toolCompleted({ toolCallId, tool: 'calculator', result: 42 });
await (run.cancelled ? run.cancel() : run.complete({ answer: 42 }));

await publisher.close(); // returns once every event is on the queue
console.log(`run ${run.runId} published`);
