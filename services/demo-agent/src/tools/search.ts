import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One document of the knowledge base. */
export interface Doc {
  /** File name without extension, e.g. `"ordering"`. */
  id: string;
  title: string;
  body: string;
}

/** One search hit. */
export interface SearchHit {
  id: string;
  title: string;
  score: number;
  /** The sentence of the document that matches the query best. */
  snippet: string;
}

/** What the search tool returns. */
export interface SearchResult {
  query: string;
  hits: SearchHit[];
}

/** The folder of documents shipped with the demo agent. */
export const DEFAULT_DOCS_DIR = join(__dirname, '..', '..', 'docs');

const STOP_WORDS = new Set(
  (
    'a an and are as at be by can do does for from how i if in is it its me my of on or so that the their then ' +
    'there this to was what when where which who why will with you your about tell explain please much many ' +
    'does did what whats show give get use using also than into out up down over under again compute calculate ' +
    'work were more please hi hello'
  ).split(' '),
);

/** Lower-case content words of a text, stop words removed, a plural `s` stripped (deterministic). */
export function terms(text: string): string[] {
  return (text.toLowerCase().match(/[a-z][a-z0-9_-]*/g) ?? [])
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w))
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
}

/** Reads every `*.md` file of `dir` (sorted by name); the first `# ` line is the title. */
export function loadDocs(dir: string = DEFAULT_DOCS_DIR): Doc[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const lines = text.split('\n');
      const titleLine = lines.find((l) => l.startsWith('# ')) ?? f;
      const body = lines
        .filter((l) => l !== titleLine)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      return { id: f.replace(/\.md$/, ''), title: titleLine.replace(/^# /, '').trim(), body };
    });
}

/**
 * A small, deterministic keyword search: a document scores one point per occurrence of each query term
 * (title matches count three times); ties are broken by document id. Returns at most `limit` hits with
 * a score above zero.
 */
export function searchDocs(docs: readonly Doc[], query: string, limit = 2): SearchResult {
  const q = [...new Set(terms(query))];
  const hits: SearchHit[] = [];
  for (const doc of docs) {
    const bodyTerms = terms(doc.body);
    const titleTerms = terms(doc.title);
    let score = 0;
    for (const t of q) {
      score += bodyTerms.filter((w) => w === t).length + 3 * titleTerms.filter((w) => w === t).length;
    }
    if (score === 0) continue;
    const sentences = doc.body.split(/(?<=[.!?])\s+/);
    let snippet = sentences[0] ?? '';
    let best = -1;
    for (const s of sentences) {
      const st = terms(s);
      const n = q.filter((t) => st.includes(t)).length;
      if (n > best) {
        best = n;
        snippet = s;
      }
    }
    hits.push({ id: doc.id, title: doc.title, score, snippet });
  }
  hits.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
  return { query, hits: hits.slice(0, limit) };
}
