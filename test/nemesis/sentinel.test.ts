/**
 * The nemesis in Sentinel mode, in CI: a real Sentinel topology — a master and one replica (redis-server,
 * AOF) watched by three Sentinels (quorum 2) — under the bursty workload with SDK and raw subscribers on
 * both gateways, while the seeded schedule forces `SENTINEL FAILOVER`s between process faults and lease
 * deletions. The checker holds it to guarantee 1.10 (nothing acknowledged lost, or `recovered: false`;
 * never a `gap` in place of an event a viewer saw) and 2.2 (one leader per fencing epoch, epochs never
 * decrease). Before decision 0005 the Sentinel mode lost acknowledged events and reissued fencing epochs
 * (`npm run nemesis -- --mode sentinel --seed 4 --seconds 30 --faults sentinel-failover,lease-delete`).
 * Replay: `npm run nemesis -- --mode sentinel --seed 20261137 --seconds 18`.
 */
import { formatViolation } from './checker';
import { SENTINEL_FAULTS } from './faults';
import { runNemesis } from './run';

jest.setTimeout(300_000);

// Its schedule forces two failovers (there and back) before process faults.
const SEED = 20261137;

describe('nemesis in Sentinel mode (forced failovers of the data master)', () => {
  it(`guarantees 1.10, 2.2: seed ${SEED}, 18 s — nothing acknowledged lost, no gap for a seen event, epochs monotonic`, async () => {
    const lines: string[] = [];
    const result = await runNemesis({
      mode: 'sentinel',
      seed: SEED,
      seconds: 18,
      faults: SENTINEL_FAULTS,
      log: (l) => lines.push(l),
    });
    const first = result.violations[0];
    const report = [...lines, first ? `first violation: ${formatViolation(first)}` : 'no violation'].join('\n');
    expect({ violations: result.violations.length, report }).toEqual({ violations: 0, report });
    // The schedule really moved the master (at least one failover was performed, not refused).
    const failovers = result.history.faults.filter(
      (f) => f.kind === 'sentinel-failover' && f.target.startsWith('master'),
    );
    expect({ failedOver: failovers.length >= 1, report }).toEqual({ failedOver: true, report });
    // Emits wait while the new master has no replica (decision 0005), so few runs finish in 18 s.
    expect(result.stats.runs).toBeGreaterThanOrEqual(5);
  });
});
