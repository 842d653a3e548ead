/**
 * Coalescing of `agent_thinking` deltas (config `events.thinkingCoalesce*`), against a real Redis: what the
 * queue holds is read back and compared with what was emitted — text and order exactly, dense seqs.
 */
import { randomUUID } from 'node:crypto';
import { type AppConfig, loadConfig } from '@agent-bridge/config';
import { AgentBridgeError, type EventEnvelope, keyLayout } from '@agent-bridge/protocol';
import { closeRedis, createRedis } from '@agent-bridge/redis';
import { type RedisServer, TcpProxy, destroyAllRedis, startRedis, waitFor } from '@agent-bridge/testing';
import { Queue } from 'bullmq';
import { AgentPublisher, type RunHandle } from './index';

afterAll(destroyAllRedis);

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});

interface Ctx {
  config: AppConfig;
  publisher: AgentPublisher;
  /** Every event on the queue of one run (from `event` and `events` jobs), by seq. */
  events: (runId: string) => Promise<EventEnvelope[]>;
  close: () => Promise<void>;
}

async function setup(env: Record<string, string> = {}, url = server.url): Promise<Ctx> {
  const id = randomUUID();
  const config = loadConfig({
    env: { REDIS_URL: url, AB_KEY_PREFIX: `c-${id}`, AB_EVENTS_QUEUE: `ev-${id}`, LOG_LEVEL: 'silent', ...env },
  });
  const publisher = await AgentPublisher.create({ config });
  const inspect = createRedis(loadConfig({ env: { REDIS_URL: server.url } }), 'command');
  const queue = new Queue(config.queues.events, {
    connection: inspect,
    prefix: keyLayout(config.keyPrefix).bullPrefix,
  });
  let closed = false;
  return {
    config,
    publisher,
    events: async (runId) =>
      (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed']))
        .flatMap((j) =>
          j.name === 'events' ? (j.data as { events: EventEnvelope[] }).events : [j.data as EventEnvelope],
        )
        .filter((e) => e.runId === runId)
        .sort((a, b) => a.seq - b.seq),
    close: async () => {
      if (closed) return;
      closed = true;
      await publisher.close();
      await queue.close();
      await closeRedis(inspect);
    },
  };
}

/** Small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'b', ' ', 'é', '"', '\\', '\n', '😀', '<', 'ß', '\u0001', 'Z'];

function randomDelta(rand: () => number, max: number): string {
  const n = Math.floor(rand() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
  return s;
}

/** Merges consecutive thinking texts: what the app sees, whatever the event boundaries. */
type Item = { kind: 'text'; text: string } | { kind: 'other'; type: string; n: number };
function merge(items: Item[]): Item[] {
  const out: Item[] = [];
  for (const it of items) {
    const last = out.at(-1);
    if (it.kind === 'text' && last?.kind === 'text') last.text += it.text;
    else out.push({ ...it });
  }
  return out.filter((it) => it.kind !== 'text' || it.text.length > 0);
}

function itemsOf(events: EventEnvelope[]): Item[] {
  return events.map((e) =>
    e.type === 'agent_thinking'
      ? { kind: 'text', text: (e.payload as { delta: string }).delta }
      : { kind: 'other', type: e.type, n: (e.payload as { n?: number } | null)?.n ?? -1 },
  );
}

describe('agent SDK: thinking deltas coalescing', () => {
  let ctx: Ctx | undefined;
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });

  it('guarantee 1.12, property: random streams (unicode, escapes, awaited or not, pauses, other events, several runs) keep text and order exactly, with dense seqs and bounded events', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rand = prng(seed);
      const maxBytes = 16 + Math.floor(rand() * 200);
      const maxDeltas = 1 + Math.floor(rand() * 8);
      ctx = await setup({
        AB_THINKING_COALESCE_MS: String(2 + Math.floor(rand() * 25)),
        AB_THINKING_COALESCE_MAX_BYTES: String(maxBytes),
        AB_THINKING_COALESCE_MAX_DELTAS: String(maxDeltas),
      });
      const c = ctx;
      const runs = await Promise.all([0, 1, 2].map(() => c.publisher.startRun({ userId: 'u', agent: 'a' })));
      const expected = new Map<string, Item[]>(runs.map((r) => [r.runId, []]));
      await Promise.all(
        runs.map(async (run: RunHandle) => {
          const pending: Promise<unknown>[] = [];
          const ops = 30 + Math.floor(rand() * 50);
          for (let i = 0; i < ops; i++) {
            const r = rand();
            let p: Promise<unknown>;
            if (r < 0.72) {
              const delta = randomDelta(rand, rand() < 0.05 ? maxBytes : 8);
              expected.get(run.runId)!.push({ kind: 'text', text: delta });
              p = run.thinking(delta);
            } else if (r < 0.82) {
              expected.get(run.runId)!.push({ kind: 'other', type: 'custom.step', n: i });
              p = run.emit('custom.step', { n: i });
            } else if (r < 0.92) {
              p = new Promise((res) => setTimeout(res, Math.floor(rand() * 35)));
            } else {
              p = run.flush();
            }
            if (rand() < 0.6) await p;
            else pending.push(p);
          }
          await Promise.all(pending);
          expected.get(run.runId)!.push({ kind: 'other', type: 'agent_completed', n: -1 });
          await run.complete();
        }),
      );
      await c.publisher.close();
      for (const run of runs) {
        const events = await c.events(run.runId);
        expect({ seed, seqs: events.map((e) => e.seq) }).toEqual({ seed, seqs: events.map((_, i) => i + 1) });
        expect({ seed, items: merge(itemsOf(events)) }).toEqual({ seed, items: merge(expected.get(run.runId)!) });
        for (const e of events.filter((x) => x.type === 'agent_thinking')) {
          const size = Buffer.byteLength(JSON.stringify((e.payload as { delta: string }).delta)) - 2;
          // A window never grows past its bound; only a delta that alone is larger travels alone.
          if (size > maxBytes)
            expect(expected.get(run.runId)).toContainEqual({
              kind: 'text',
              text: (e.payload as { delta: string }).delta,
            });
        }
      }
      await c.close();
      ctx = undefined;
    }
  }, 120_000);

  it('an awaited thinking() resolves while its window is open; the window becomes ONE event when its time is up, with the first delta’s id, seq and ts', async () => {
    ctx = await setup({ AB_THINKING_COALESCE_MS: '300' });
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    const before = Date.now();
    const a = await run.thinking('Hello');
    const b = await run.thinking(', ');
    const c = await run.thinking('world');
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.seq).toBe(1);
    expect(await ctx.events(run.runId)).toEqual([]); // still in the window
    const [event, ...rest] = await waitFor('window sent', async () => {
      const events = await ctx!.events(run.runId);
      return events.length > 0 ? events : null;
    });
    expect(rest).toEqual([]);
    expect(event).toMatchObject({ id: a.id, seq: 1, type: 'agent_thinking', payload: { delta: 'Hello, world' } });
    expect(event!.ts).toBeGreaterThanOrEqual(before);
    expect(event!.ts).toBeLessThan(before + 300);
    expect((await run.thinking('!')).seq).toBe(2);
  });

  it('any other event, a full window (deltas or bytes), the run’s end and close() send the window first', async () => {
    ctx = await setup({
      AB_THINKING_COALESCE_MS: '1000',
      AB_THINKING_COALESCE_MAX_DELTAS: '3',
      AB_THINKING_COALESCE_MAX_BYTES: '20',
    });
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    for (const d of ['a', 'b', 'c', 'd']) await run.thinking(d); // 3 deltas fill a window
    await run.toolExecuting({ tool: 'search', toolCallId: 'call-1' }); // sends 'd' first
    await run.thinking('0123456789');
    await run.thinking('0123456789'); // 20 bytes: full
    await run.thinking('x'); // does not fit: a new window
    await run.thinking('y'.repeat(30)); // larger than a window: its own event, after 'x'
    await run.thinking('tail');
    await run.complete({ done: true });
    const events = await ctx.events(run.runId);
    expect(events.map((e) => [e.seq, e.type, (e.payload as { delta?: string }).delta])).toEqual([
      [1, 'agent_thinking', 'abc'],
      [2, 'agent_thinking', 'd'],
      [3, 'tool_executing', undefined],
      [4, 'agent_thinking', '01234567890123456789'],
      [5, 'agent_thinking', 'x'],
      [6, 'agent_thinking', 'y'.repeat(30)],
      [7, 'agent_thinking', 'tail'],
      [8, 'agent_completed', undefined],
    ]);
    const other = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    await other.thinking('closed ');
    await other.thinking('by close()');
    other.close();
    const last = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    await last.thinking('sent by publisher.close()');
    await ctx.publisher.close();
    expect((await ctx.events(other.runId)).map((e) => e.payload)).toEqual([{ delta: 'closed by close()' }]);
    expect((await ctx.events(last.runId)).map((e) => e.payload)).toEqual([{ delta: 'sent by publisher.close()' }]);
  });

  it('with AB_THINKING_COALESCE_MS=0 every thinking() is its own event, resolved once on the queue', async () => {
    ctx = await setup({ AB_THINKING_COALESCE_MS: '0' });
    const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
    const a = await run.thinking('one');
    expect((await ctx.events(run.runId)).map((e) => e.id)).toEqual([a.id]);
    await run.thinking('two');
    expect((await ctx.events(run.runId)).map((e) => e.payload)).toEqual([{ delta: 'one' }, { delta: 'two' }]);
  });

  it('a window whose enqueue failed after the retries is reported: flush() rejects with UNAVAILABLE, and the run goes on once Redis is back', async () => {
    const proxy = await TcpProxy.start(server.port);
    try {
      ctx = await setup({ AB_THINKING_COALESCE_MS: '20', AB_PUBLISH_RETRY_TIMEOUT_MS: '0' }, proxy.url);
      const run = await ctx.publisher.startRun({ userId: 'u', agent: 'a' });
      proxy.cut();
      await run.thinking('lost in the outage');
      const failure = await waitFor('the window failed', () =>
        run.flush().then(
          () => null,
          (err: unknown) => err,
        ),
      );
      expect(failure).toBeInstanceOf(AgentBridgeError);
      expect(failure instanceof AgentBridgeError && failure.code).toBe('UNAVAILABLE');
      proxy.heal();
      await run.thinking('again');
      await run.flush();
    } finally {
      await ctx?.close();
      ctx = undefined;
      await proxy.close();
    }
  });
});
