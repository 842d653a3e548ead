/**
 * `npm run nemesis -- --seed N --seconds S [--mode standalone|sentinel [--replicas N]] [--faults a,b|all] [--out history.json] [--echo]`: one nemesis
 * run, replayable by its seed. Prints the seed, every fault, the figures and the first violation; exits 1
 * when the history violates a guarantee.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatViolation } from './checker';
import { DEFAULT_FAULTS, FAULT_KINDS, type FaultKind, SENTINEL_FAULTS } from './faults';
import { deliveryFigures } from './figures';
import { runNemesis } from './run';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    faults: { type: 'string' },
    lanes: { type: 'string' },
    out: { type: 'string' },
    echo: { type: 'boolean', default: false },
    mode: { type: 'string', default: 'standalone' },
    replicas: { type: 'string' },
  },
});

function faultList(spec: string | undefined, mode: 'standalone' | 'sentinel'): FaultKind[] {
  if (spec === undefined) return [...(mode === 'sentinel' ? SENTINEL_FAULTS : DEFAULT_FAULTS)];
  if (spec === 'all') return [...FAULT_KINDS];
  const list = spec.split(',').map((s) => s.trim());
  const unknown = list.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new Error(`unknown fault kinds: ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
  return list as FaultKind[];
}

async function main(): Promise<number> {
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed must be an integer ≥ 0');
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds must be a number > 0');
  const mode = values.mode;
  if (mode !== 'standalone' && mode !== 'sentinel') throw new Error('--mode must be standalone or sentinel');
  const result = await runNemesis({
    mode,
    seed,
    seconds,
    faults: faultList(values.faults, mode),
    lanes: values.lanes === undefined ? undefined : Number(values.lanes),
    replicas: values.replicas === undefined ? undefined : Number(values.replicas),
    echo: values.echo,
    log: (line) => console.log(line),
  });
  if (values.out) writeFileSync(values.out, JSON.stringify(result.history));
  const s = result.stats;
  console.log(
    `nemesis: seed ${seed}: ${s.runs} runs, ${s.events} events, ${s.deliveries} deliveries, ${s.faults} faults, drained in ${s.drainMs} ms`,
  );
  const d = deliveryFigures(result.history);
  console.log(
    `nemesis: seed ${seed}: delivery latency p50 ${d.p50Ms} ms, p99 ${d.p99Ms} ms, max ${d.maxMs} ms over ${d.deliveries}` +
      (d.failover
        ? `; emitted from 5 s before to 10 s after a Sentinel failover: p50 ${d.failover.p50Ms} ms, p99 ${d.failover.p99Ms} ms, max ${d.failover.maxMs} ms over ${d.failover.deliveries}`
        : '') +
      `; recovered:false to ${d.resetSubscriptions} subscriptions of ${d.resetRuns} runs`,
  );
  if (result.violations.length === 0) {
    console.log(
      `nemesis: seed ${seed}: OK — nothing lost, duplicated or reordered; stored = emitted; one leader per epoch`,
    );
    return 0;
  }
  const byKind = new Map<string, number>();
  for (const v of result.violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
  console.log(
    `nemesis: seed ${seed}: ${result.violations.length} violations (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`,
  );
  console.log(`nemesis: seed ${seed}: first violation: ${formatViolation(result.violations[0]!)}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
