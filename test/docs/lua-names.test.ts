import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

// Docs name Lua scripts by file (`commit-events-3.lua`): the number is the script's key count, so a script
// that changes its keys changes its name, and a doc that kept the old name points at nothing. Each such
// name in the docs must be a script of the repository.

const ROOT = join(__dirname, '..', '..');
const SKIPPED = new Set(['node_modules', 'dist', 'lib', '.git', '.turbo']);

function files(dir: string, wanted: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : files(path, wanted);
    return wanted.test(entry.name) ? [path] : [];
  });
}

/** Every `<name>-<keys>.lua` named in `text`. */
function luaNames(text: string): string[] {
  return [...text.matchAll(/\b([a-z][a-z0-9]*(?:-[a-z0-9]+)*-\d+\.lua)\b/g)].map((m) => m[1]!);
}

describe('Lua scripts named in the docs exist', () => {
  it('the extractor finds names in paths and prose (and would report a stale one)', () => {
    expect(luaNames('see `shared/redis/lua/commit-events-3.lua`; register-run-2.lua (old)')).toEqual([
      'commit-events-3.lua',
      'register-run-2.lua',
    ]);
  });

  it('every name is a script in the repository', () => {
    const scripts = new Set(
      ['services', 'shared'].flatMap((dir) => files(join(ROOT, dir), /\.lua$/)).map((p) => basename(p)),
    );
    expect(scripts.has('commit-events-3.lua')).toBe(true);
    const docs = [
      ...files(join(ROOT, 'docs'), /\.md$/),
      ...readdirSync(ROOT)
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(ROOT, f)),
      ...['services', 'shared'].flatMap((dir) => files(join(ROOT, dir), /^README\.md$/)),
    ];
    const stale = docs.flatMap((doc) =>
      luaNames(readFileSync(doc, 'utf8'))
        .filter((name) => !scripts.has(name))
        .map((name) => `${relative(ROOT, doc)}: ${name}`),
    );
    expect(stale).toEqual([]);
  });
});
