import { createServer } from 'node:net';

/** Whether nothing listens on `port` (all interfaces). */
async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

/** The first free port from `preferred` on (never 6379), skipping ports already handed out. */
export async function pickPort(preferred: number, taken: Set<number>): Promise<number> {
  for (let p = preferred; p < preferred + 200; p++) {
    if (p === 6379 || taken.has(p)) continue;
    if (await portIsFree(p)) {
      taken.add(p);
      return p;
    }
  }
  throw new Error(`no free port from ${preferred} to ${preferred + 199}`);
}
