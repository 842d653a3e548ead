// The agent SDK's bundle inlines @agent-bridge/redis, which reads its Lua scripts from `<package>/lua`
// (one level above the code, see shared/redis/src/lua.ts): copy them next to the SDK's `lib/`.
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const from = join(import.meta.dirname, '..', 'shared', 'redis', 'lua');
const to = join(process.cwd(), 'lua');
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
