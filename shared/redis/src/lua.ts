import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RedisConnection } from './connections';

/**
 * The package's `lua/` folder. Both `src/` (tests, tsx) and `dist/` are one level below the package root; a
 * bundle that inlines this package (the published agent SDK) ships a copy of `lua/` one level above its
 * `dist/` for the same reason.
 */
const LUA_DIR = join(__dirname, '..', 'lua');

/** Path of one of this package's Lua scripts, e.g. `luaFile('register-run-1.lua')`. */
export function luaFile(name: string): string {
  return join(LUA_DIR, name);
}

/** A Lua script read from a `name-N.lua` file, where N is its number of KEYS. */
export interface LuaScript {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/**
 * Reads a Lua script file. The key count comes from the file name (`commit-events-3.lua` → 3 keys),
 * so it stays next to the script's header that documents KEYS and ARGV.
 */
export function loadLua(path: string): LuaScript {
  const m = /^(.*)-(\d+)\.lua$/.exec(basename(path));
  if (!m?.[1] || m[2] === undefined) throw new Error(`Lua file name must be <name>-<numberOfKeys>.lua: ${path}`);
  return { name: m[1], numberOfKeys: Number(m[2]), lua: readFileSync(path, 'utf8') };
}

/** A Lua script with its SHA1, run with EVALSHA and loaded on NOSCRIPT. */
export interface LoadedScript extends LuaScript {
  sha: string;
}

/** Reads a `name-N.lua` file and computes its SHA1 for {@link runScript}. */
export function loadScript(path: string): LoadedScript {
  const script = loadLua(path);
  return { ...script, sha: createHash('sha1').update(script.lua).digest('hex') };
}

/**
 * Runs a script by SHA (one round trip once cached), falling back to EVAL when the server does not know
 * it yet (first call, restart, failover). On a Cluster it runs on the node of its first key.
 */
export async function runScript(
  conn: RedisConnection,
  script: LoadedScript,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
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
