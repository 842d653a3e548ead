import { loadConfig } from '@agent-bridge/config';
import { recoveryBackoffMs, recoveryJobId } from './recovery-queue';

describe('recovery backoff (exponential with jitter, from config)', () => {
  const { recovery } = loadConfig({
    env: { AB_RECOVERY_BACKOFF_MS: '100', AB_RECOVERY_BACKOFF_MAX_MS: '1000', AB_RECOVERY_JITTER: '0.5' },
  });

  it('doubles per attempt up to the cap; jitter only shortens a delay by at most its share', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => recoveryBackoffMs(n, recovery, () => 0))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3, 4].map((n) => recoveryBackoffMs(n, recovery, () => 1))).toEqual([50, 100, 200, 400]);
  });

  it('with jitter ≤ 0.5 every delay is at least as long as the previous one, whatever the random draws', () => {
    for (let trial = 0; trial < 200; trial++) {
      const delays = [1, 2, 3, 4].map((n) => recoveryBackoffMs(n, recovery));
      for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] ?? Infinity);
    }
  });

  it('job ids never contain ":" (BullMQ rule)', () => {
    expect(recoveryJobId('failed-e3-17:00')).toBe('recover-failed-e3-17_00');
  });
});
