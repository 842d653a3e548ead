import { ManagedChild } from './managed-child';
import type { OutputSink } from './output';
import { type SupervisorEvent, SupervisionGaveUpError, Supervisor, restartDelayMs, restartPolicy } from './supervisor';

// Real child processes (node), killed for real; the supervisor restarts them or gives up.

const sink: OutputSink = { write: () => undefined, colour: false };
const live: ManagedChild[] = [];

/** A child that prints `ready` and runs until killed — or, with `crash`, exits with code 3 at once. */
function child(name: string, crash = false): ManagedChild {
  const script = crash ? 'process.exit(3)' : 'console.log("ready"); setInterval(() => {}, 1000)';
  const c = new ManagedChild(
    { name, command: process.execPath, args: ['-e', script], env: { PATH: process.env['PATH'] }, cwd: process.cwd() },
    sink,
    1,
    10,
  );
  live.push(c);
  return c;
}

async function started(c: ManagedChild): Promise<ManagedChild> {
  await c.waitForOutput(/ready/, 20_000);
  return c;
}

function until(events: SupervisorEvent[], type: SupervisorEvent['type'], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (events.some((e) => e.type === type)) resolve();
      else if (Date.now() > deadline) reject(new Error(`no ${type} event; got ${JSON.stringify(events)}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

afterEach(async () => {
  await Promise.all(live.splice(0).map((c) => c.stop(2_000)));
});

describe('launcher supervisor (guarantee 9.2)', () => {
  it('restart delays double per try up to the cap; bad policies are refused', () => {
    const p = restartPolicy({ initialDelayMs: 100, maxDelayMs: 500 });
    expect([1, 2, 3, 4, 5].map((a) => restartDelayMs(p, a))).toEqual([100, 200, 400, 500, 500]);
    expect(restartPolicy()).toEqual({ maxRestarts: 5, initialDelayMs: 500, maxDelayMs: 15_000, stableAfterMs: 60_000 });
    expect(restartPolicy({ maxRestarts: 0 }).maxRestarts).toBe(0);
    expect(() => restartPolicy({ maxRestarts: -1 })).toThrow(RangeError);
    expect(() => restartPolicy({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });

  it('a process SIGKILLed after ready is reported and restarted (a new pid, running); again after a second kill', async () => {
    const events: SupervisorEvent[] = [];
    const first = await started(child('svc'));
    const sup = new Supervisor(
      'svc',
      { initialDelayMs: 50 },
      () => started(child('svc')),
      (e) => events.push(e),
    );
    sup.watch(first);
    process.kill(first.pid!, 'SIGKILL');
    await until(events, 'restarted');
    expect(events.slice(0, 3)).toEqual([
      { type: 'died', name: 'svc', pid: first.pid, exit: 'killed by SIGKILL' },
      { type: 'restarting', name: 'svc', attempt: 1, of: 5, delayMs: 50 },
      { type: 'restarted', name: 'svc', attempt: 1, pid: expect.any(Number) as number },
    ]);
    const second = live[live.length - 1]!;
    expect(second.pid).not.toBe(first.pid);
    expect(second.running).toBe(true);
    // A second death within the stable window is the second try in a row (the delay doubles).
    events.length = 0;
    process.kill(second.pid!, 'SIGKILL');
    await until(events, 'restarted');
    expect(events[1]).toEqual({ type: 'restarting', name: 'svc', attempt: 2, of: 5, delayMs: 100 });
    expect(live[live.length - 1]!.running).toBe(true);
    sup.stop();
  });

  it('gives up loudly after maxRestarts failed tries (restarts that die before ready), with growing delays', async () => {
    const events: SupervisorEvent[] = [];
    const first = await started(child('flaky'));
    const sup = new Supervisor(
      'flaky',
      { maxRestarts: 3, initialDelayMs: 50 },
      () => started(child('flaky', true)),
      (e) => events.push(e),
    );
    sup.watch(first);
    process.kill(first.pid!, 'SIGKILL');
    await until(events, 'gave-up');
    expect(events.filter((e) => e.type === 'restarting').map((e) => (e as { delayMs: number }).delayMs)).toEqual([
      50, 100, 200,
    ]);
    expect(events.filter((e) => e.type === 'restart-failed')).toHaveLength(3);
    const gaveUp = events[events.length - 1] as Extract<SupervisorEvent, { type: 'gave-up' }>;
    expect(gaveUp.error).toBeInstanceOf(SupervisionGaveUpError);
    expect(gaveUp.error.message).toMatch(
      /^flaky kept dying: gave up after 3 restart tries \(last: flaky exited \(code 3\)/,
    );
    // Nothing is restarted after giving up.
    const count = live.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(live.length).toBe(count);
  });

  it('stop() cancels a pending restart and ignores later deaths', async () => {
    const events: SupervisorEvent[] = [];
    const first = await started(child('svc'));
    const sup = new Supervisor(
      'svc',
      { initialDelayMs: 400 },
      () => started(child('svc')),
      (e) => events.push(e),
    );
    sup.watch(first);
    process.kill(first.pid!, 'SIGKILL');
    await until(events, 'restarting');
    sup.stop();
    sup.stop();
    await new Promise((r) => setTimeout(r, 800));
    expect(events.map((e) => e.type)).toEqual(['died', 'restarting']);
    expect(live).toHaveLength(1);
  });
});
