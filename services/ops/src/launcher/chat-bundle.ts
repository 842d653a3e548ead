import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

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
 * Bundles the chat page (TypeScript in the gateway's `chat/`, beside `public/`) with the client SDK
 * (`@agent-bridge/client`, from its TypeScript sources) for the browser into the gateway's `public/dist/`
 * (ignored by git and Prettier through the root .gitignore's `dist/`). Takes a second or two; run at every
 * start so the page always uses the page and the SDK of the working tree. esbuild only strips the types:
 * `npm run typecheck` checks them (`services/gateway/chat/tsconfig.json`).
 */
export async function buildChatBundle(publicDir: string): Promise<string> {
  const entry = join(publicDir, '..', 'chat', 'main.ts');
  if (!existsSync(entry)) throw new Error(`chat page entry not found: ${entry}`);
  const outfile = join(publicDir, CHAT_BUNDLE_PATH);
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
