import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves the files of `root` under `/` (GET; `/` is `index.html`). Paths are normalised and must stay
 * inside `root`; anything else is a 404. Small on purpose: the demo chat page is a handful of files.
 */
export function serveStatic(app: FastifyInstance, root: string): void {
  const base = normalize(root + sep);
  app.get('/*', async (req, reply) => {
    let rel: string;
    try {
      rel = decodeURIComponent((req.params as { '*': string })['*'] || 'index.html');
    } catch {
      return reply.code(404).send({ error: 'not found' });
    }
    const file = normalize(join(base, rel));
    if (!file.startsWith(base)) return reply.code(404).send({ error: 'not found' });
    const body = await readRegularFile(file);
    if (body === null) return reply.code(404).send({ error: 'not found' });
    return reply
      .header('content-type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', 'no-cache')
      .send(body);
  });
}

/** The content of `file` when it is a regular file that can be read, else null. */
async function readRegularFile(file: string): Promise<Buffer | null> {
  try {
    return (await stat(file)).isFile() ? await readFile(file) : null;
  } catch {
    return null;
  }
}
