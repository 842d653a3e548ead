import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

// docs/guarantees.md is the one numbered list of what agent-bridge guarantees; tests and code cite its
// items as "guarantee N.M" (or "guarantees N.M and N.M"). A citation of a number the list does not have
// points nowhere, so it fails here.

const ROOT = join(__dirname, '..', '..');
const SCANNED = ['services', 'shared', 'test', 'scripts', 'examples'];
const SKIPPED = new Set(['node_modules', 'dist', 'lib', 'public']);
const SOURCE = /\.(ts|mts|mjs|js|lua)$/;

/** The item numbers of docs/guarantees.md: every bold `**N.M …**` that starts a line. */
function listedItems(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^\*\*(\d+\.\d+)\b/gm)].map((m) => m[1] as string));
}

/** Every number cited as a guarantee in `text`, with its line: "guarantee 1.2", "guarantees 1.3, 1.4 and 1.6". */
function citations(text: string): { cited: string; line: number }[] {
  const out: { cited: string; line: number }[] = [];
  for (const m of text.matchAll(/\bguarantees?\s+(\d+(?:\.\d+)?(?:\s*(?:,|and|&|\/)\s*\d+(?:\.\d+)?)*)/gi)) {
    const line = text.slice(0, m.index).split('\n').length;
    for (const n of (m[1] as string).match(/\d+(?:\.\d+)?/g) ?? []) out.push({ cited: n, line });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : sourceFiles(path);
    return SOURCE.test(entry.name) ? [path] : [];
  });
}

describe('guarantee citations point into docs/guarantees.md', () => {
  const items = listedItems(readFileSync(join(ROOT, 'docs', 'guarantees.md'), 'utf8'));

  it('the extractor reads items, single citations and lists (and would report a bad one)', () => {
    expect(listedItems('**1.1 Ordered.** x\n**1.12 Thinking.** y\nsee **2.3 not at line start**\n')).toEqual(
      new Set(['1.1', '1.12']),
    );
    expect(
      citations('a\n// guarantee 1.10: x; guarantees 1.3, 1.4 and 6.2 / 7.1 (Guarantee 9)').map((c) => c.cited),
    ).toEqual(['1.10', '1.3', '1.4', '6.2', '7.1', '9']);
    expect(citations('x\nguarantee 3 is ensureIntegration')).toEqual([{ cited: '3', line: 2 }]);
  });

  it('every "guarantee N.M" in code and tests names an item of the list', () => {
    expect(items.size).toBeGreaterThan(40);
    const found: string[] = [];
    const wrong: string[] = [];
    for (const file of SCANNED.flatMap((d) => sourceFiles(join(ROOT, d)))) {
      if (file === __filename) continue; // its own examples above are not citations
      for (const { cited, line } of citations(readFileSync(file, 'utf8'))) {
        found.push(cited);
        // A bare section number ("guarantee 3") is ambiguous: cite the item.
        if (!items.has(cited)) wrong.push(`${relative(ROOT, file)}:${line} cites guarantee ${cited}`);
      }
    }
    expect(found.length).toBeGreaterThan(50);
    expect(wrong).toEqual([]);
  });
});
