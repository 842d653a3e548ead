/** The producer processes of the agents benchmark: started with an IPC channel, driven by messages. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { GoMessage, ProducerMessage, ProducerReport } from './messages';

type Reply = ProducerReport | { type: 'ready' } | { type: 'prepared' } | { type: 'error'; message: string };

/** One producer process. */
export class Producer {
  private readonly child: ChildProcess;
  private waiting: { type: Reply['type']; resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;

  constructor(readonly index: number) {
    this.child = spawn(
      process.execPath,
      ['--conditions=@agent-bridge/source', '--import', 'tsx', join(__dirname, 'producer.ts')],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, FORCE_COLOR: '0' } },
    );
    this.child.on('message', (m: Reply) => {
      const w = this.waiting;
      if (!w) return;
      this.waiting = null;
      if (m.type === 'error') w.reject(new Error(`producer ${index}: ${m.message}`));
      else w.resolve(m);
    });
    this.child.once('exit', (code, signal) => {
      const w = this.waiting;
      this.waiting = null;
      w?.reject(new Error(`producer ${index} exited (${code ?? signal ?? 'no code'})`));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Sends a message and waits (bounded) for the reply of the given type. */
  request<T extends Reply['type']>(
    msg: ProducerMessage,
    reply: T,
    timeoutMs: number,
  ): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`producer ${this.index}: no ${reply} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        type: reply,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Extract<Reply, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.child.send(msg);
    });
  }

  go(msg: GoMessage, timeoutMs: number): Promise<ProducerReport> {
    return this.request(msg, 'report', timeoutMs);
  }

  /** Asks it to close its connections and exit; kills it if it does not within 5 s. Idempotent. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
