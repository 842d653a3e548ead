import type { SupervisorEvent } from './supervisor';

/** The launcher's line for a supervisor event; `loud` ones are printed in red (deaths, failures, give-up). */
export function describeSupervisorEvent(e: SupervisorEvent): { text: string; loud: boolean } {
  switch (e.type) {
    case 'died':
      return { text: `${e.name} died (pid ${e.pid ?? '?'}, ${e.exit})`, loud: true };
    case 'restarting':
      return { text: `restarting ${e.name} in ${e.delayMs} ms (try ${e.attempt} of ${e.of})`, loud: false };
    case 'restart-failed':
      return { text: `restart ${e.attempt} of ${e.name} failed: ${e.error.message.split('\n')[0] ?? ''}`, loud: true };
    case 'restarted':
      return { text: `${e.name} restarted (pid ${e.pid ?? '?'}, try ${e.attempt})`, loud: false };
    case 'gave-up':
      return { text: `GAVE UP: ${e.error.message}. Stopping agent-bridge.`, loud: true };
  }
}
