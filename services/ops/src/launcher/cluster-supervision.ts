import type { EmbeddedRedis } from './embedded-redis';
import type { ManagedChild } from './managed-child';
import {
  type Life,
  type RestartPolicy,
  type SupervisionGaveUpError,
  Supervisor,
  type SupervisorEvent,
} from './supervisor';
import { describeSupervisorEvent } from './supervisor-report';

/** What supervising a launched cluster needs from the launcher. */
export interface SupervisedCluster {
  children: readonly ManagedChild[];
  redis: EmbeddedRedis | null;
  policy: Partial<RestartPolicy>;
  /** Starts child `name` again; resolves once it is ready. */
  respawn(name: string): Promise<Life>;
  /** False once the launcher is stopping (no restart then). */
  isReady(): boolean;
  /** Prints a launcher line (`loud` in red). */
  say(text: string, loud: boolean): void;
  /** Records a (re)started process for the leftovers check. */
  record(name: string, pid: number | undefined): void;
  giveUp(error: SupervisionGaveUpError): void;
}

/**
 * One {@link Supervisor} per child and one for the embedded Redis (restarted on the same port and data
 * folder), each reporting through the launcher's log. Returns them so the launcher can stop them on close.
 */
export function superviseCluster(c: SupervisedCluster): Supervisor[] {
  const report =
    (name: string) =>
    (e: SupervisorEvent): void => {
      const { text, loud } = describeSupervisorEvent(e);
      c.say(text, loud);
      if (e.type === 'restarted') c.record(name, e.pid);
      if (e.type === 'gave-up') c.giveUp(e.error);
    };
  const supervisors: Supervisor[] = [];
  for (const child of c.children) {
    const sup = new Supervisor(child.name, c.policy, () => c.respawn(child.name), report(child.name));
    supervisors.push(sup);
    sup.watch(child);
  }
  const redis = c.redis;
  const life = redis?.life;
  if (redis && life) {
    const restart = async (): Promise<Life> => {
      if (!c.isReady()) throw new Error('launcher is stopping');
      return redis.start();
    };
    const sup = new Supervisor('redis', c.policy, restart, report('redis'));
    supervisors.push(sup);
    sup.watch(life);
  }
  return supervisors;
}
