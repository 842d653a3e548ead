#!/usr/bin/env node
// Keeps TypeScript project references in step with workspace dependencies: every package's
// tsconfig.json references the workspace packages it depends on, and the root solution lists them all.
// Run after adding a workspace dependency: `node scripts/sync-tsconfig.mjs`. With `--check` it writes
// nothing and exits 1 when a file is out of step (`npm run lint` runs it so).
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as prettier from 'prettier';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['shared', 'services'].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(group, name))
    .filter((d) => existsSync(join(root, d, 'tsconfig.json'))),
);
const byName = new Map(dirs.map((d) => [JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8')).name, d]));

const check = process.argv.includes('--check');
const stale = [];
// Files are compared and written as Prettier writes them, so a sync never shows up as a formatting diff.
const format = async (file, value) =>
  prettier.format(JSON.stringify(value, null, 2), { ...(await prettier.resolveConfig(file)), filepath: file });
const update = async (file, value) => {
  const text = await format(file, value);
  if (readFileSync(file, 'utf8') === text) return;
  stale.push(relative(root, file));
  if (!check) writeFileSync(file, text);
};

for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
    .filter((n) => byName.has(n))
    .sort();
  const file = join(root, dir, 'tsconfig.json');
  const tsconfig = JSON.parse(readFileSync(file, 'utf8'));
  tsconfig.references = deps.map((n) => ({ path: relative(join(root, dir), join(root, byName.get(n))) }));
  await update(file, tsconfig);
}
// The solution also holds programs that are not workspace packages — the browser pages, each with its own
// tsconfig (DOM lib) inside a service: those references are kept as long as their tsconfig exists.
const solutionFile = join(root, 'tsconfig.json');
const pages = (JSON.parse(readFileSync(solutionFile, 'utf8')).references ?? [])
  .map((reference) => reference.path)
  .filter((path) => !dirs.includes(path) && existsSync(join(root, path, 'tsconfig.json')));
await update(solutionFile, { files: [], references: [...dirs, ...pages].map((path) => ({ path })) });

if (check && stale.length > 0) {
  console.error(
    `out of step with the workspace dependencies: ${stale.join(', ')} — run node scripts/sync-tsconfig.mjs`,
  );
  process.exit(1);
}
console.log(
  `${check ? 'checked' : 'synced'} ${dirs.length} projects${stale.length ? `, rewrote ${stale.join(', ')}` : ''}`,
);
