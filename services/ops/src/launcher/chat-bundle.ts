import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** Where the chat page's client bundle goes (gitignored), relative to the gateway's `public/` folder. */
export const CHAT_BUNDLE_PATH = 'vendor/agent-bridge-client.js';

/**
 * Bundles the client SDK (`@agent-bridge/client`, from its TypeScript sources) for the browser into the
 * gateway's `public/vendor/`, exposed as the global `AgentBridgeClient`. Takes a second or two; run at
 * every start so the page always uses the SDK of the working tree.
 */
export async function buildChatBundle(publicDir: string): Promise<string> {
  const entry = join(publicDir, 'js', 'sdk-entry.js');
  if (!existsSync(entry)) throw new Error(`chat page entry not found: ${entry}`);
  const outfile = join(publicDir, CHAT_BUNDLE_PATH);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'AgentBridgeClient',
    target: ['es2020'],
    conditions: ['@agent-bridge/source', 'browser'],
    minify: true,
    sourcemap: true,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return outfile;
}
