// Entry of the browser bundle of the client SDK. The launcher (`npm start`) bundles it with esbuild into
// dist/agent-bridge-client.js (gitignored), exposed as the global `AgentBridgeClient`.
export { connect, isTerminalRunStatus, runStatusOfEvent } from '@agent-bridge/client';
