// Watches a run from Node and prints its events as JSON lines until it ends. Without a run id it asks the
// gateway for a new run first and prints `{"runId": …}`. Run: GATEWAY_URL=… TOKEN=<jwt> node watch.js [runId]
import { connect, runStatusOfEvent } from '@agent-bridge/client';

const client = connect(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080', { token: process.env.TOKEN ?? '' });
const runId = process.argv[2] ?? (await client.startRun('What is 6*7?'));
console.log(JSON.stringify({ runId }));

await new Promise<void>((resolve, reject) => {
  const sub = client.subscribe(runId, (event) => {
    console.log(JSON.stringify(event));
    if (runStatusOfEvent(event) !== null) resolve(); // completed, failed or cancelled: the run is over
  });
  sub.ready.catch(reject); // FORBIDDEN, NOT_FOUND, …: an AgentBridgeError with a code
});
client.close();
