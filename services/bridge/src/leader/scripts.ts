import { join } from 'node:path';
import { type LoadedScript, loadScript } from '@agent-bridge/redis';

export { runScript } from '@agent-bridge/redis';

const cache = new Map<string, LoadedScript>();

/** Loads `services/bridge/lua/<file>` once (the same relative path from `src/` and `dist/`). */
export function bridgeScript(file: string): LoadedScript {
  let script = cache.get(file);
  if (!script) {
    script = loadScript(join(__dirname, '..', '..', 'lua', file));
    cache.set(file, script);
  }
  return script;
}
