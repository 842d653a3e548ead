/**
 * Partitioned event queues on a three-master Redis Cluster (issue 12): 1 vs 3 partitions (or the counts of
 * BENCH_PARTITIONS), rounds alternating the order, on one Cluster this script starts. Each round: two real
 * bridge processes (`services/bridge/src/main.ts`) and one gateway on a fresh key prefix, BENCH_RUNS runs
 * registered by the agent SDK (with that partition count), then BENCH_EVENTS events per run emitted as fast
 * as the SDK takes them; measured from the first emit until every run's head is committed:
 *
 * - events/s committed;
 * - per master, Redis commands per 1,000 events (INFO commandstats deltas; a Lua script's inner calls are
 *   counted too) — where the queue work lands;
 * - per master, Pub/Sub messages per 1,000 events: the PUBLISH/SPUBLISH calls run on it (`cmdstat_publish`,
 *   `cmdstat_spublish`, inside the commit script included) and the ones it received over the Cluster bus
 *   from other masters (`CLUSTER INFO` `cluster_stats_messages_publish_received` +
 *   `…_publishshard_received`). A classic PUBLISH is forwarded to every node; a sharded one only to the
 *   replicas of the shard (none here), so the bus column shows which path is active.
 *
 * The completion poll (one HGET per unfinished run every 250 ms) is in the counts (under 2 %). Prints a
 * table per round and the medians per partition count; asserts nothing.
 *
 *   npm run bench:partitions
 * Each partition count runs with every AB_PUBSUB_MODE of BENCH_PUBSUB (classic: PUBLISH, broadcast over the
 * Cluster bus; sharded: SPUBLISH on the run's slot).
 *
 *   env: BENCH_ROUNDS=2 BENCH_RUNS=200 BENCH_EVENTS=50 BENCH_PARTITIONS=1,3 BENCH_PUBSUB=classic,sharded
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AgentPublisher } from '@agent-bridge/agent-sdk';
import { loadConfig } from '@agent-bridge/config';
import { keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { RedisCluster, type RedisServer, ServiceProcess, destroyAllRedis, sleep } from '@agent-bridge/testing';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';

const ROOT = join(__dirname, '..', '..');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 200);
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 50);
const COUNTS = (process.env['BENCH_PARTITIONS'] ?? '1,3').split(',').map(Number);
/** AB_PUBSUB_MODE values to compare (classic PUBLISH broadcast vs sharded SPUBLISH). */
const MODES = (process.env['BENCH_PUBSUB'] ?? 'classic,sharded').split(',');
const CONFIGS = MODES.flatMap((mode) => COUNTS.map((partitions) => ({ mode, partitions })));

interface NodeSample {
  commands: number;
  publishes: number;
  busPublishReceived: number;
}

interface Row {
  mode: string;
  partitions: number;
  round: number;
  eventsPerSec: number;
  /** Per master (in port order): commands, local publishes, bus-received publishes, per 1,000 events. */
  commands: number[];
  publishes: number[];
  busReceived: number[];
}

async function sample(admin: Redis): Promise<NodeSample> {
  const [stats, cluster] = await Promise.all([
    admin.info('commandstats'),
    admin.call('cluster', 'info') as Promise<string>,
  ]);
  let commands = 0;
  let publishes = 0;
  for (const m of stats.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) {
    commands += Number(m[2]);
    if (m[1] === 'publish' || m[1] === 'spublish') publishes += Number(m[2]);
  }
  const field = (k: string): number => Number(new RegExp(`${k}:(\\d+)`).exec(cluster)?.[1] ?? 0);
  return {
    commands,
    publishes,
    busPublishReceived:
      field('cluster_stats_messages_publish_received') + field('cluster_stats_messages_publishshard_received'),
  };
}

async function round(
  cluster: RedisCluster,
  admins: Redis[],
  { mode, partitions }: { mode: string; partitions: number },
  n: number,
): Promise<Row> {
  const prefix = `bp-${randomUUID().slice(0, 6)}`;
  const env: Record<string, string> = {
    REDIS_MODE: 'cluster',
    REDIS_CLUSTER_NODES: cluster.seeds.join(','),
    AB_KEY_PREFIX: prefix,
    AB_EVENT_PARTITIONS: String(partitions),
    AB_PUBSUB_MODE: mode,
    LOG_LEVEL: 'info',
    PORT: '0',
    AB_JWT_SECRET: 'bench-secret-of-sufficient-length',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_TRACES_EXPORTER: 'none',
    AB_THINKING_COALESCE_MS: '0',
    AB_MAX_QUEUE_DEPTH: String(RUNS * EVENTS * 2),
  };
  const procs = [
    ...['b1', 'b2'].map((name) =>
      ServiceProcess.start({
        entry: join(ROOT, 'services/bridge/src/main.ts'),
        name: `${prefix}-${name}`,
        env: { ...env, AB_INSTANCE_ID: `${prefix}-${name}` },
      }),
    ),
    ServiceProcess.start({
      entry: join(ROOT, 'services/gateway/src/main.ts'),
      name: `${prefix}-gw`,
      env: { ...env, AB_INSTANCE_ID: `${prefix}-gw` },
    }),
  ];
  const config = loadConfig({ env });
  const keys = keyLayout(prefix);
  const poll = createRedis(config, 'command', { name: 'bench-poll' });
  let publisher: AgentPublisher | null = null;
  try {
    await Promise.all([
      procs[0]!.waitForOutput(/bridge ready/, 120_000),
      procs[1]!.waitForOutput(/bridge ready/, 120_000),
      procs[2]!.waitForOutput(/gateway ready/, 120_000),
    ]);
    publisher = await AgentPublisher.create({ config });
    const handles = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        publisher!.startRun({ userId: `u${i % 10}`, agent: 'bench', runId: `${prefix}-r${i}` }),
      ),
    );
    await sleep(500);
    const before = await Promise.all(admins.map(sample));
    const t0 = performance.now();
    const emitted: Promise<unknown>[] = [];
    for (let e = 0; e < EVENTS; e++) {
      for (const h of handles) emitted.push(h.emit('agent_thinking', { delta: `token ${e} ` }));
      // Let the SDK flush between rounds of emits, as an agent streaming tokens would.
      if (e % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(emitted);
    let pending = handles.map((h) => h.runId);
    while (pending.length > 0) {
      const heads = await Promise.all(pending.map((r) => poll.hget(keys.runMeta(r), 'headSeq')));
      pending = pending.filter((_, i) => Number(heads[i] ?? 0) < EVENTS);
      if (pending.length > 0) await sleep(250);
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = await Promise.all(admins.map(sample));
    const total = RUNS * EVENTS;
    const per1k = (f: (s: NodeSample) => number) => after.map((a, i) => ((f(a) - f(before[i]!)) * 1000) / total);
    for (const h of handles) h.close();
    return {
      mode,
      partitions,
      round: n,
      eventsPerSec: total / seconds,
      commands: per1k((s) => s.commands),
      publishes: per1k((s) => s.publishes),
      busReceived: per1k((s) => s.busPublishReceived),
    };
  } finally {
    await publisher?.close();
    await closeRedis(poll);
    await Promise.all(procs.map((p) => p.kill()));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(xs: number[]): string {
  return xs.map((x) => x.toFixed(0).padStart(6)).join(' ');
}

async function main(): Promise<void> {
  const cluster = await RedisCluster.start(3);
  const nodes: RedisServer[] = [...cluster.nodes].sort((a, b) => a.port - b.port);
  const admins = nodes.map((n) => new Redis({ port: n.port, lazyConnect: false }));
  try {
    const bullSlot = calculateSlot('{bull}');
    const shards = (await admins[0]!.call('cluster', 'slots')) as [number, number, [string, number]][];
    const masterOf = (slot: number) => {
      const s = shards.find(([lo, hi]) => slot >= lo && slot <= hi);
      return nodes.findIndex((n) => n.port === s?.[2][1]);
    };
    const version = /redis_version:(\S+)/.exec(await admins[0]!.info('server'))?.[1] ?? 'unknown';
    console.log(
      `Redis ${version}, 3 masters (ports ${nodes.map((n) => n.port).join(', ')}); {bull} is slot ${bullSlot} on master ${
        masterOf(bullSlot) + 1
      }; {bull:0..2} on masters ${[0, 1, 2].map((i) => masterOf(calculateSlot(`{bull:${i}}`)) + 1).join(', ')}`,
    );
    console.log(`${RUNS} runs x ${EVENTS} events per round, 2 bridges + 1 gateway, ${ROUNDS} rounds\n`);
    const rows: Row[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
      for (const cfg of order) {
        const row = await round(cluster, admins, cfg, r + 1);
        rows.push(row);
        console.log(
          `round ${row.round} ${cfg.mode} partitions ${cfg.partitions}: ${row.eventsPerSec.toFixed(0)} events/s; per 1,000 events per master — commands ${fmt(
            row.commands,
          )}; publishes run ${fmt(row.publishes)}; publishes received over the bus ${fmt(row.busReceived)}`,
        );
      }
    }
    console.log('\nMedians per Pub/Sub mode and partition count (per master: M1 M2 M3, per 1,000 events)\n');
    console.log(
      '| pub/sub | partitions | events/s | commands M1 / M2 / M3 | busiest ÷ mean | PUBLISH+SPUBLISH run M1 / M2 / M3 | received over the bus M1 / M2 / M3 |',
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const { mode, partitions: p } of CONFIGS) {
      const mine = rows.filter((x) => x.partitions === p && x.mode === mode);
      const col = (f: (x: Row) => number[]) => [0, 1, 2].map((i) => median(mine.map((x) => f(x)[i]!)));
      const cmds = col((x) => x.commands);
      const mean = cmds.reduce((a, b) => a + b, 0) / 3;
      console.log(
        `| ${mode} | ${p} | ${median(mine.map((x) => x.eventsPerSec)).toFixed(0)} | ${cmds.map((x) => x.toFixed(0)).join(' / ')} | ${(
          Math.max(...cmds) / mean
        ).toFixed(2)} | ${col((x) => x.publishes)
          .map((x) => x.toFixed(0))
          .join(' / ')} | ${col((x) => x.busReceived)
          .map((x) => x.toFixed(0))
          .join(' / ')} |`,
      );
    }
    console.log(`\n${JSON.stringify(rows)}`);
  } finally {
    for (const a of admins) a.disconnect();
    await cluster.destroy();
    await destroyAllRedis();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
