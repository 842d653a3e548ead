#!/usr/bin/env node
// `npm run bench`: runs every `bench:*` script of the root package.json (bench:pipeline, bench:failover,
// bench:agents, ...), one after another (the machines are small: benchmarks never overlap), and fails if
// any of them fails. `npm run bench -- --quick` runs the benchmarks that have a quick mode (bench:agents)
// in it: a smoke run of well under a minute each.
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const QUICK_CAPABLE = new Set(['bench:agents', 'bench:emit']);
const quick = process.argv.includes('--quick');
const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const benches = Object.keys(scripts).filter((name) => name.startsWith('bench:'));
for (const name of benches) {
  const extra = quick && QUICK_CAPABLE.has(name) ? ' -- --quick' : '';
  console.log(`\n=== npm run ${name}${extra}\n`);
  execSync(`npm run --silent ${name}${extra}`, { stdio: 'inherit' });
}
