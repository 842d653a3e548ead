// The naive watcher: joins the run's room and prints what arrives.
import { io } from 'socket.io-client';

const runId = process.argv[2] ?? '';
const socket = io(process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080');
// MISSING: dedupe, ordering and resume: what arrives is shown as it comes, gaps and duplicates included.
socket.on('connect', () => socket.emit('watch', runId));
socket.on('event', (event: { type: string; payload: unknown }) => {
  console.log(event.type, JSON.stringify(event.payload));
  if (event.type === 'agent_completed') socket.close();
});
