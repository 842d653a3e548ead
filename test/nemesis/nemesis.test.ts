/**
 * The nemesis in CI: a fixed-seed, bounded run (60 s of faults) of the whole cluster — 2 bridge replicas,
 * 2 gateways, redis-server with AOF, each service behind its own TCP proxy — under a bursty workload with an
 * SDK and a raw protocol subscriber per user on every gateway, judged by the checker (guarantees 1.2,
 * 1.3–1.6, 1.9, 1.11, 2.2, 4.1). Only `sentinel-failover` is off (see DEFAULT_FAULTS in faults.ts).
 * Replay or explore: `npm run nemesis -- --seed N --seconds S [--faults …|all]`.
 */
import { formatViolation } from './checker';
import { DEFAULT_FAULTS } from './faults';
import { runNemesis } from './run';

jest.setTimeout(420_000);

const SEED = 20261129;

describe('nemesis (seeded faults against the whole cluster)', () => {
  it(`guarantees 1.2–1.6, 1.9, 1.11, 2.2: seed ${SEED}, 60 s of faults — nothing lost, duplicated or reordered; stored = emitted; one leader per epoch`, async () => {
    const lines: string[] = [];
    const result = await runNemesis({ seed: SEED, seconds: 60, faults: DEFAULT_FAULTS, log: (l) => lines.push(l) });
    const first = result.violations[0];
    // The seed, the faults and the first violation, so a red run can be replayed.
    const report = [...lines, first ? `first violation: ${formatViolation(first)}` : 'no violation'].join('\n');
    expect({ violations: result.violations.length, report }).toEqual({ violations: 0, report });
    expect(result.stats.faults).toBeGreaterThanOrEqual(5);
    expect(result.stats.runs).toBeGreaterThan(50);
    expect(result.history.leaders.filter((l) => l.source === 'poll').length).toBeGreaterThan(0);
  });
});
