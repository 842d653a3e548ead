import { calculate } from './calculator';
import { readClock } from './clock';
import { loadDocs, searchDocs } from './search';

describe('demo agent tools (network-free)', () => {
  it('calculator evaluates arithmetic with a sandboxed parser', () => {
    expect(calculate('17 * 23 + 4')).toEqual({ expression: '17 * 23 + 4', value: '395' });
    expect(calculate('sqrt(16) + 2^3')).toEqual({ expression: 'sqrt(16) + 2^3', value: '12' });
    expect(calculate('1/3').value).toBe('0.333333333333');
  });

  it('calculator refuses code, unknown symbols and non-numbers with a readable error', () => {
    expect(() => calculate('import({a: 1})')).toThrow('function import is disabled');
    expect(() => calculate('evaluate("1+1")')).toThrow('function evaluate is disabled');
    expect(() => calculate('process')).toThrow(/Undefined symbol process/);
    expect(() => calculate('"abc"')).toThrow('does not evaluate to a number');
    expect(() => calculate('1'.repeat(201))).toThrow('longer than 200');
  });

  it('clock reports the given time in UTC', () => {
    expect(readClock(() => Date.UTC(2026, 10, 25, 18, 0, 0))).toEqual({
      iso: '2026-11-25T18:00:00.000Z',
      epochMs: Date.UTC(2026, 10, 25, 18, 0, 0),
      weekday: 'Wednesday',
    });
  });

  it('search ranks the shipped documents deterministically', () => {
    const docs = loadDocs();
    expect(docs.map((d) => d.id)).toEqual([
      'agents',
      'gateways',
      'integration-states',
      'leadership',
      'limits',
      'ordering',
      'redis',
    ]);
    const result = searchDocs(docs, 'gateway failover');
    expect(result.hits.map((h) => h.id)).toEqual(['gateways', 'integration-states']);
    expect(result.hits[0]?.title).toBe('Gateways and failover');
    expect(searchDocs(docs, 'zebra').hits).toEqual([]);
  });
});
