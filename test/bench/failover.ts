/**
 * Failover benchmark: how long the cluster is without a leader after the leader dies (SIGKILL) or shuts
 * down (SIGTERM), for agent-bridge's elector (Redlock lease + fencing record + release announcement) next
 * to plain Redlock with polling (standbys retry `acquire` every retry delay; on SIGTERM the lock is
 * released but nobody is told). Same Redis, same TTL and retry settings, real processes.
 *
 *   node --conditions=@agent-bridge/source --import tsx test/bench/failover.ts
 *   BENCH_TRIALS=20 BENCH_TTL_MS=2000 npm run bench:failover
 *
 * The same file is the plain-Redlock candidate process when BENCH_ROLE=candidate.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { keyLayout } from '@agent-bridge/protocol';
import { ServiceProcess, destroyAllRedis, freePort, killAllServices, sleep, startRedis } from '@agent-bridge/testing';
import { Redis } from 'ioredis';
import Redlock, { type Lock } from 'redlock';
import { percentile } from './stats';

const env = process.env;
const TRIALS = Number(env['BENCH_TRIALS'] ?? 10);
const TTL = Number(env['BENCH_TTL_MS'] ?? 2_000);
const RETRY = Number(env['BENCH_RETRY_DELAY_MS'] ?? 200);
const JITTER = Number(env['BENCH_RETRY_JITTER_MS'] ?? 100);
const REPLICAS = 3;

// ---- plain Redlock candidate (child process) ----------------------------------------------------------

async function candidate(): Promise<void> {
  const redis = new Redis(env['BENCH_REDIS_URL'] ?? '', { maxRetriesPerRequest: 2 });
  const pub = new Redis(env['BENCH_REDIS_URL'] ?? '');
  const id = env['BENCH_ID'] ?? 'x';
  const channel = env['BENCH_CHANNEL'] ?? 'bench';
  const resource = env['BENCH_RESOURCE'] ?? 'bench-lock';
  const redlock = new Redlock([redis], { retryCount: 0 });
  redlock.on('error', () => undefined);
  let lock: Lock | null = null;
  // Set by the SIGTERM handler: typed by a cast so the loop's check is not narrowed to `false`.
  let stopping = false as boolean;
  process.once('SIGTERM', () => {
    stopping = true;
    void (async () => {
      if (lock) await lock.release().catch(() => undefined);
      process.exit(0);
    })();
  });
  console.log('candidate ready');
  while (!stopping) {
    if (!lock) {
      try {
        lock = await redlock.acquire([resource], TTL);
        await pub.publish(channel, JSON.stringify({ id, at: Date.now() }));
      } catch {
        lock = null;
      }
    } else {
      try {
        lock = await lock.extend(TTL);
      } catch {
        lock = null;
      }
    }
    await sleep(lock ? TTL / 2 : RETRY + Math.floor(Math.random() * (JITTER + 1)));
  }
}

// ---- harness ------------------------------------------------------------------------------------------

interface Contender {
  start(name: string): Promise<ServiceProcess>;
  channel: string;
  /** Id of the replica an announcement names, or null when it is not an election. */
  electedId(message: string): string | null;
}

async function runTrials(
  label: string,
  contender: Contender,
  sub: Redis,
  signal: 'SIGKILL' | 'SIGTERM',
): Promise<number[]> {
  const procs = new Map<string, ServiceProcess>();
  const elections: { id: string; at: number }[] = [];
  const onMessage = (channel: string, message: string): void => {
    if (channel !== contender.channel) return;
    const id = contender.electedId(message);
    if (id) elections.push({ id, at: Date.now() });
  };
  sub.on('message', onMessage);
  await sub.subscribe(contender.channel);
  let n = 0;
  const spawn = async (): Promise<void> => {
    const name = `${label}-${++n}`;
    procs.set(name, await contender.start(name));
  };
  const nextElection = async (after: number, timeoutMs = TTL * 10): Promise<{ id: string; at: number }> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = elections.find((x) => x.at >= after);
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`${label}: no election within ${timeoutMs} ms`);
      await sleep(2);
    }
  };
  try {
    for (let i = 0; i < REPLICAS; i++) await spawn();
    let leader = (await nextElection(0)).id;
    const out: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const proc = procs.get(leader);
      if (!proc) throw new Error(`${label}: unknown leader ${leader}`);
      // A random phase relative to the leader's extension cycle, the same for both contenders (otherwise the
      // time a replacement takes to boot decides how much lease the killed leader had left).
      await sleep(Math.floor(Math.random() * TTL));
      const t0 = Date.now();
      if (signal === 'SIGKILL') await proc.kill();
      else proc.signal('SIGTERM');
      const next = await nextElection(t0);
      out.push(next.at - t0);
      await proc.exited;
      procs.delete(leader);
      leader = next.id;
      await spawn();
      await sleep(200);
      process.stderr.write('.');
    }
    return out;
  } finally {
    sub.off('message', onMessage);
    await sub.unsubscribe(contender.channel);
    await Promise.all([...procs.values()].map((p) => p.kill()));
  }
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const sub = new Redis(redis.url);
  const bridgeEntry = join(__dirname, '..', '..', 'services', 'bridge', 'src', 'main.ts');
  const bridge = (prefix: string): Contender => ({
    channel: keyLayout(prefix).leaderChannel,
    electedId: (m) => {
      const a = JSON.parse(m) as { type: string; id: string };
      return a.type === 'elected' ? a.id : null;
    },
    start: async (name) => {
      const p = ServiceProcess.start({
        entry: bridgeEntry,
        name,
        env: {
          REDIS_URL: redis.url,
          AB_KEY_PREFIX: prefix,
          AB_INSTANCE_ID: name,
          PORT: String(await freePort()),
          AB_LEADER_LEASE_TTL_MS: String(TTL),
          AB_LEADER_EXTEND_BEFORE_MS: String(Math.floor(TTL / 2)),
          AB_LEADER_RETRY_DELAY_MS: String(RETRY),
          AB_LEADER_RETRY_JITTER_MS: String(JITTER),
          LOG_LEVEL: 'info',
          OTEL_METRICS_EXPORTER: 'none',
        },
      });
      await p.waitForOutput(/bridge ready/, 60_000);
      return p;
    },
  });
  const plain = (prefix: string): Contender => ({
    channel: `${prefix}:plain-elected`,
    electedId: (m) => (JSON.parse(m) as { id: string }).id,
    start: async (name) => {
      const p = ServiceProcess.start({
        entry: __filename,
        name,
        env: {
          BENCH_ROLE: 'candidate',
          BENCH_REDIS_URL: redis.url,
          BENCH_ID: name,
          BENCH_CHANNEL: `${prefix}:plain-elected`,
          BENCH_RESOURCE: `${prefix}:plain-lock`,
          BENCH_TTL_MS: String(TTL),
          BENCH_RETRY_DELAY_MS: String(RETRY),
          BENCH_RETRY_JITTER_MS: String(JITTER),
        },
      });
      await p.waitForOutput(/candidate ready/, 60_000);
      return p;
    },
  });

  const rows: { name: string; samples: number[] }[] = [];
  try {
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const what = signal === 'SIGKILL' ? 'failover after SIGKILL' : 'handover after SIGTERM';
      rows.push({
        name: `agent-bridge  ${what}`,
        samples: await runTrials(`ab-${signal}`, bridge(`bench-${randomUUID()}`), sub, signal),
      });
      rows.push({
        name: `plain redlock ${what}`,
        samples: await runTrials(`pl-${signal}`, plain(`bench-${randomUUID()}`), sub, signal),
      });
    }
  } finally {
    sub.disconnect();
    await killAllServices();
    await destroyAllRedis();
  }
  process.stderr.write('\n');
  console.log(
    `\nleader failover, ${TRIALS} trials each, ${REPLICAS} replicas, TTL ${TTL} ms, retry ${RETRY} ms + jitter ${JITTER} ms (ms)`,
  );
  console.log('| scenario | median | p95 | min | max |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const s = [...r.samples].sort((a, b) => a - b);
    console.log(`| ${r.name} | ${percentile(s, 50)} | ${percentile(s, 95)} | ${s[0]!} | ${s[s.length - 1]!} |`);
  }
}

if (env['BENCH_ROLE'] === 'candidate') {
  void candidate();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
