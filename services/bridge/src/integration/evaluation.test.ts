import { loadConfig } from '@agent-bridge/config';
import { type CheckResult, IntegrationState, type PublishedState } from '@agent-bridge/protocol';
import { afterEvaluation, evaluate, planTransition, recoveryOutcome, staleBoundMs, staleFor } from './evaluation';

const { Uninitialized, Initializing, Active, Degraded, Failed } = IntegrationState;

function check(name: string, severity: CheckResult['severity']): CheckResult {
  return { name, ok: severity !== 'fail', severity, latencyMs: 1, detail: `${name} ${severity}` };
}
const allOk = [check('redis', 'ok'), check('gateways', 'ok')];
const oneWarn = [check('redis', 'ok'), check('gateways', 'warn')];
const oneFail = [check('redis', 'ok'), check('gateways', 'fail'), check('probe', 'warn')];

describe('evaluate — where the checks lead, with the start-up grace', () => {
  const now = 1_000_000;
  const grace = 60_000;
  it.each([
    // [checks, published state, since (ms before now), expected target, note]
    ['all ok, cold start', allOk, Initializing, 1_000, Active, ''],
    [
      'a warning, cold start within the grace',
      oneWarn,
      Initializing,
      1_000,
      Initializing,
      ' (starting: 59000 ms of start-up grace left)',
    ],
    [
      'a failure, cold start within the grace',
      oneFail,
      Initializing,
      59_999,
      Initializing,
      ' (starting: 1 ms of start-up grace left)',
    ],
    ['a failure, cold start with the grace just over', oneFail, Initializing, 60_000, Failed, ''],
    ['a warning, cold start after the grace', oneWarn, Initializing, 120_000, Degraded, ''],
    ['a failure while ACTIVE (no grace outside a cold start)', oneFail, Active, 1_000, Failed, ''],
    ['a warning while FAILED', oneWarn, Failed, 1_000, Degraded, ''],
    ['all ok while DEGRADED', allOk, Degraded, 1_000, Active, ''],
    ['a failure while UNINITIALIZED', oneFail, Uninitialized, 1_000, Failed, ''],
  ] as const)('%s', (_case, checks, state, ago, target, note) => {
    expect(evaluate(checks, { state, since: now - ago }, now, grace)).toEqual({ target, note });
  });

  it('a grace of 0 lets the checks decide at once', () => {
    expect(evaluate(oneFail, { state: Initializing, since: now }, now, 0)).toEqual({ target: Failed, note: '' });
  });
});

describe('staleFor — a left-over state nobody checked for longer than a failover explains', () => {
  const now = 10_000_000;
  const bound = 50_000;
  it.each([
    // [published state, since (ms before now), last health check (ms before now, null: none), expected]
    ['UNINITIALIZED is never stale', Uninitialized, 900_000, null, null],
    ['INITIALIZING is never stale', Initializing, 900_000, null, null],
    ['ACTIVE, checked recently', Active, 900_000, 1_000, null],
    ['ACTIVE, set recently, never checked', Active, 1_000, null, null],
    ['ACTIVE, exactly at the bound', Active, 900_000, 50_000, null],
    ['ACTIVE, just past the bound', Active, 900_000, 50_001, 50_001],
    ['FAILED, neither set nor checked for long', Failed, 900_000, 800_000, 800_000],
    ['DEGRADED, set recently though the last check is old', Degraded, 2_000, 800_000, null],
  ] as const)('%s', (_case, state, sinceAgo, checkedAgo, expected) => {
    const checkedAt = checkedAgo === null ? undefined : now - checkedAgo;
    expect(staleFor({ state, since: now - sinceAgo }, checkedAt, now, bound)).toBe(expected);
  });

  it('the bound is lease TTL + leaderless bound + two health intervals + a probe timeout', () => {
    const config = loadConfig({
      env: {
        AB_LEADER_LEASE_TTL_MS: '8000',
        AB_LEADER_ABSENT_FAIL_MS: '20000',
        AB_HEALTH_INTERVAL_MS: '5000',
        AB_HEALTH_PROBE_TIMEOUT_MS: '3000',
      },
    });
    expect(staleBoundMs(config)).toBe(8_000 + 20_000 + 2 * 5_000 + 3_000);
  });
});

describe('planTransition — legal edges to the target', () => {
  function published(state: IntegrationState, failingChecks: CheckResult[] = []): PublishedState {
    return { state, leaderId: 'l', epoch: 1, since: 0, reason: 'r', failingChecks };
  }
  it.each([
    [
      'UNINITIALIZED → INITIALIZING directly',
      published(Uninitialized),
      Initializing,
      [],
      [[Uninitialized, Initializing]],
    ],
    [
      'UNINITIALIZED → ACTIVE through INITIALIZING',
      published(Uninitialized),
      Active,
      [],
      [
        [Uninitialized, Initializing],
        [Initializing, Active],
      ],
    ],
    [
      'UNINITIALIZED → FAILED through INITIALIZING',
      published(Uninitialized),
      Failed,
      [check('probe', 'fail')],
      [
        [Uninitialized, Initializing],
        [Initializing, Failed],
      ],
    ],
    [
      'INITIALIZING → DEGRADED',
      published(Initializing),
      Degraded,
      [check('probe', 'warn')],
      [[Initializing, Degraded]],
    ],
    ['ACTIVE → FAILED', published(Active), Failed, [check('probe', 'fail')], [[Active, Failed]]],
    ['FAILED → ACTIVE', published(Failed), Active, [], [[Failed, Active]]],
    ['DEGRADED → INITIALIZING', published(Degraded), Initializing, [], [[Degraded, Initializing]]],
  ] as const)('%s', (_case, current, target, failing, steps) => {
    expect(planTransition(current, target, failing)).toEqual({ kind: 'move', steps });
  });

  it.each([
    ['same state, same failing checks', [check('probe', 'fail')], [check('probe', 'fail')], 'none'],
    ['same state, no failing checks either way', [], [], 'none'],
    ['same state, another check failing', [check('probe', 'fail')], [check('gateways', 'fail')], 'annotate'],
    ['same state, same check at another severity', [check('probe', 'warn')], [check('probe', 'fail')], 'annotate'],
    [
      'same state, one more failing check',
      [check('probe', 'fail')],
      [check('probe', 'fail'), check('redis', 'fail')],
      'annotate',
    ],
  ] as const)('%s', (_case, before, now, kind) => {
    expect(planTransition(published(Failed, [...before]), Failed, now)).toEqual({ kind });
  });
});

describe('afterEvaluation — when the health duty schedules recovery', () => {
  it.each([
    // [state, streak before, degradedRecoveryAfter, expected streak, expected reason]
    [Active, 0, 3, 0, null],
    [Active, 2, 3, 0, null],
    [Initializing, 2, 3, 0, null],
    [Degraded, 0, 3, 1, null],
    [Degraded, 1, 3, 2, null],
    [Degraded, 2, 3, 3, 'DEGRADED for 3 consecutive checks'],
    [Degraded, 3, 3, 4, 'DEGRADED for 4 consecutive checks'],
    [Degraded, 0, 1, 1, 'DEGRADED for 1 consecutive checks'],
    [Failed, 0, 3, 0, 'integration FAILED'],
    [Failed, 2, 3, 0, 'integration FAILED'],
  ] as const)('%s after a streak of %i (recover after %i)', (state, streak, after, degradedStreak, recoverReason) => {
    expect(afterEvaluation(state, streak, after)).toEqual({ degradedStreak, recoverReason });
  });
});

describe('recoveryOutcome — what a recovery attempt logs', () => {
  it.each([
    [Active, 1, 5, 'recovered'],
    [Active, 5, 5, 'recovered'],
    [Failed, 1, 5, 'still-failing'],
    [Degraded, 4, 5, 'still-failing'],
    [Failed, 5, 5, 'gave-up'],
    [Initializing, 1, 1, 'gave-up'],
  ] as const)('%s on attempt %i of %i → %s', (state, attempt, attempts, outcome) => {
    expect(recoveryOutcome(state, attempt, attempts)).toBe(outcome);
  });
});
