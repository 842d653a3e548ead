/**
 * Smoke test of `npm run bench:agents -- --quick`: the benchmark runs end to end (producer processes,
 * both sides, JSON written) and what it measured holds guarantee 1.2 for agent-bridge — every unit of every
 * run delivered once, in order. Timing is not asserted (that is the benchmark's job, on a quiet machine).
 * The naive glue promises no order (its BullMQ worker runs jobs concurrently), so only its losses and
 * duplicates are asserted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Row } from './agents/report';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

describe('bench:agents --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-agents-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams every unit of every run to the watchers of both sides; agent-bridge loses, duplicates and reorders none (guarantee 1.2)', async () => {
    const out = join(dir, 'agents.json');
    await run(
      process.execPath,
      ['--conditions=@agent-bridge/source', '--import', 'tsx', 'test/bench/agents.ts', '--quick', '--out', out],
      { cwd: ROOT, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const { rows } = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[] };
    const sides = new Set(rows.map((r) => r.side));
    expect(sides).toEqual(new Set(['ours', 'naive']));
    for (const r of rows) {
      expect(r.sentUnits).toBeGreaterThan(0);
      expect({ side: r.side, scenario: r.scenario, lost: r.lost, duplicated: r.duplicated }).toEqual({
        side: r.side,
        scenario: r.scenario,
        lost: 0,
        duplicated: 0,
      });
      expect(r.deliveredUnits).toBe(r.sentUnits);
      if (r.side === 'ours') expect(r.outOfOrder).toBe(0);
    }
  }, 300_000);
});
