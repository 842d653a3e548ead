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

/** The ports of one launched cluster, each free when picked and none handed out twice. */
export interface ClusterPorts {
  gateways: number[];
  ops: number;
  bridges: number[];
  /** Bridge admin listeners, one per replica; empty when the admin listener is off. */
  admin: number[];
}

/**
 * Picks the cluster's ports from the preferred bases on (gateway 8080, ops 8070, bridge 8090, consecutive
 * per instance). `adminBase` is the bridge admin port when AB_BRIDGE_ADMIN_TOKEN turns it on: each replica
 * on this one host then needs its own.
 */
export async function pickClusterPorts(
  counts: { gateways: number; replicas: number },
  base: { gateway?: number; ops?: number; bridge?: number } | undefined,
  adminBase: number | undefined,
  taken: Set<number>,
): Promise<ClusterPorts> {
  const gateways: number[] = [];
  for (let i = 0; i < counts.gateways; i++) gateways.push(await pickPort((base?.gateway ?? 8080) + i, taken));
  const ops = await pickPort(base?.ops ?? 8070, taken);
  const bridges: number[] = [];
  for (let i = 0; i < counts.replicas; i++) bridges.push(await pickPort((base?.bridge ?? 8090) + i, taken));
  const admin: number[] = [];
  if (adminBase !== undefined) {
    for (let i = 0; i < counts.replicas; i++) admin.push(await pickPort(adminBase + i, taken));
  }
  return { gateways, ops, bridges, admin };
}
