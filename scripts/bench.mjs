#!/usr/bin/env node
// `npm run bench`: runs every `bench:*` script of the root package.json, one after another (the machines
// are small: benchmarks never overlap), and fails if any of them fails.
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const benches = Object.keys(scripts).filter((name) => name.startsWith('bench:'));
for (const name of benches) {
  console.log(`\n=== npm run ${name}\n`);
  execSync(`npm run --silent ${name}`, { stdio: 'inherit' });
}
