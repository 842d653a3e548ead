import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** A Lua script read from a `name-N.lua` file, where N is its number of KEYS. */
export interface LuaScript {
  name: string;
  numberOfKeys: number;
  lua: string;
}

/**
 * Reads a Lua script file. The key count comes from the file name (`commit-event-3.lua` → 3 keys),
 * so it stays next to the script's header that documents KEYS and ARGV.
 */
export function loadLua(path: string): LuaScript {
  const m = /^(.*)-(\d+)\.lua$/.exec(basename(path));
  if (!m?.[1] || m[2] === undefined) throw new Error(`Lua file name must be <name>-<numberOfKeys>.lua: ${path}`);
  return { name: m[1], numberOfKeys: Number(m[2]), lua: readFileSync(path, 'utf8') };
}
