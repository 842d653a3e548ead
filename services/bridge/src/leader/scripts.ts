import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { type LuaScript, type RedisConnection, loadLua } from '@agent-bridge/redis';

/** A Lua script of the bridge, with its SHA1 for EVALSHA. */
export interface BridgeScript extends LuaScript {
  sha: string;
}

const cache = new Map<string, BridgeScript>();

/** Loads `services/bridge/lua/<file>` once (the same relative path from `src/` and `dist/`). */
export function bridgeScript(file: string): BridgeScript {
  let script = cache.get(file);
  if (!script) {
    const lua = loadLua(join(__dirname, '..', '..', 'lua', file));
    script = { ...lua, sha: createHash('sha1').update(lua.lua).digest('hex') };
    cache.set(file, script);
  }
  return script;
}

/**
 * Runs a script with EVALSHA, falling back to EVAL when the server does not have it cached (first use,
 * or after a Redis restart). Throws when the key count does not match the script's file name.
 */
export async function runScript(
  conn: RedisConnection,
  script: BridgeScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (keys.length !== script.numberOfKeys) {
    throw new Error(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  }
  try {
    return await conn.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return conn.eval(script.lua, keys.length, ...keys, ...args);
  }
}
