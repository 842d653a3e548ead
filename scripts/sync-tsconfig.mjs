#!/usr/bin/env node
// Keeps TypeScript project references in step with workspace dependencies: every package's
// tsconfig.json references the workspace packages it depends on, and the root solution lists them all.
// Run after adding a workspace dependency: `node scripts/sync-tsconfig.mjs`.
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['shared', 'services'].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(group, name))
    .filter((d) => existsSync(join(root, d, 'tsconfig.json'))),
);
const byName = new Map(dirs.map((d) => [JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')).name, d]));

for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
    .filter((n) => byName.has(n))
    .sort();
  const file = join(root, dir, 'tsconfig.json');
  const tsconfig = JSON.parse(readFileSync(file, 'utf8'));
  tsconfig.references = deps.map((n) => ({ path: relative(join(root, dir), join(root, byName.get(n))) }));
  writeFileSync(file, JSON.stringify(tsconfig, null, 2) + '\n');
}
const solution = { files: [], references: dirs.map((d) => ({ path: d })) };
writeFileSync(join(root, 'tsconfig.json'), JSON.stringify(solution, null, 2) + '\n');
// Keep the files as Prettier writes them, so a sync never shows up as a formatting diff.
execFileSync(
  'npx',
  ['prettier', '--log-level', 'warn', '--write', 'tsconfig.json', ...dirs.map((d) => join(d, 'tsconfig.json'))],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
console.log(`synced ${dirs.length} projects`);
