import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { STATUS_BUNDLE, STATUS_PAGE_ENTRY } from '../server/page-files';

/** Where the chat page's bundle goes (gitignored), relative to the gateway's `public/` folder. */
const CHAT_BUNDLE_PATH = 'dist/app.js';

/**
 * Writes a file atomically (temporary file + rename), so a page being served, or another launcher of the
 * same checkout, never sees half a file.
 */
export function writeFileAtomic(path: string, contents: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/**
 * Bundles a browser page's TypeScript entry with what it imports (workspace packages from their TypeScript
 * sources) into one minified script plus its source map, written atomically. esbuild only strips the
 * types: `npm run typecheck` checks them (each page's own tsconfig.json, with the DOM library).
 */
async function bundlePage(entry: string, outfile: string): Promise<string> {
  if (!existsSync(entry)) throw new Error(`page entry not found: ${entry}`);
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['es2020'],
    conditions: ['@agent-bridge/source', 'browser'],
    minify: true,
    sourcemap: true,
    logLevel: 'silent',
    legalComments: 'none',
    write: false,
  });
  for (const file of result.outputFiles) writeFileAtomic(file.path, file.contents);
  return outfile;
}

/**
 * Bundles the chat page (TypeScript in the gateway's `chat/`, beside `public/`) with the client SDK
 * (`@agent-bridge/client`, from its TypeScript sources) for the browser into the gateway's `public/dist/`
 * (ignored by git and Prettier through the root .gitignore's `dist/`). Takes a second or two; run at every
 * start so the page always uses the page and the SDK of the working tree.
 */
export function buildChatBundle(publicDir: string): Promise<string> {
  return bundlePage(join(publicDir, '..', 'chat', 'main.ts'), join(publicDir, CHAT_BUNDLE_PATH));
}

/**
 * Bundles the ops status page (TypeScript in `services/ops/status-page/`) with uPlot into
 * `services/ops/public/dist/status.js` (gitignored), the script the ops server serves at `/status.js`.
 * Run at every `npm start`, by the browser tests before they start an ops server, and by the image build.
 */
export function buildStatusBundle(): Promise<string> {
  return bundlePage(STATUS_PAGE_ENTRY, STATUS_BUNDLE);
}
