#!/usr/bin/env node
// `npm start`: the whole agent-bridge cluster on this machine.
// 1. On a fresh clone (no node_modules) it installs the dependencies with `npm ci`, showing npm's progress.
// 2. Then it runs the launcher (services/ops/src/launcher/main.ts) from TypeScript sources through tsx:
//    nothing needs compiling first; the launcher bundles the chat page with the client SDK itself.
// Flags are passed on: `npm start -- --replicas 3 --gateways 2`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const say = (text) => process.stdout.write(`start | ${text}\n`);

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`agent-bridge needs Node.js 20 or newer (this is ${process.version}).\n`);
  process.exit(1);
}

if (!existsSync(join(root, 'node_modules', 'tsx')) || !existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  say('dependencies are missing: running `npm ci` (this takes a minute on a fresh clone)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const started = Date.now();
  // npm draws its own progress bar only on a terminal: a heartbeat shows the install is alive anyway.
  const ticker = setInterval(() => say(`still installing... ${Math.round((Date.now() - started) / 1000)} s`), 10_000);
  const code = await new Promise((resolve) => {
    const install = spawn(npm, ['ci', '--no-audit', '--no-fund', '--progress=true'], { cwd: root, stdio: 'inherit' });
    install.on('error', () => resolve(1));
    install.on('exit', (c) => resolve(c ?? 1));
  });
  clearInterval(ticker);
  if (code !== 0) {
    process.stderr.write('npm ci failed; see the output above.\n');
    process.exit(code);
  }
  say(`dependencies installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

const child = spawn(
  process.execPath,
  [
    '--conditions=@agent-bridge/source',
    '--import',
    'tsx',
    join(root, 'services/ops/src/launcher/main.ts'),
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
);

// A Ctrl-C in a terminal reaches the launcher directly (same process group); a signal sent to this
// process alone (e.g. `kill`, or npm forwarding one) is passed on. The launcher then stops everything.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  process.exit(code ?? 128 + (constants.signals[signal] ?? 1));
});
