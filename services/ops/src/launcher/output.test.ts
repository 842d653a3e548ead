import { type OutputSink, PrefixedWriter, formatLogLine } from './output';

function sink(colour = false): OutputSink & { text: string } {
  const s = { text: '', colour, write: (t: string) => void (s.text += t) };
  return s;
}

describe('launcher output (prefixed logs of the child processes)', () => {
  it('shortens a pino JSON line to time, level, message and the other fields', () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 18, 50, 34, 594),
      pid: 1,
      hostname: 'h',
      service: 'bridge',
      instance: 'bridge-1',
      component: 'leader',
      epoch: 1,
      msg: 'became leader',
    });
    expect(formatLogLine(line, sink())).toBe('18:50:34.594 INFO  became leader component=leader epoch=1');
  });

  it('passes any other line through unchanged', () => {
    expect(formatLogLine('1234:M 25 Nov # Server initialized', sink())).toBe('1234:M 25 Nov # Server initialized');
    expect(formatLogLine('{not json', sink())).toBe('{not json');
  });

  it('prefixes every complete line with the padded name and holds a partial line until its end', () => {
    const out = sink();
    const w = new PrefixedWriter(out, 'gateway-1', 0, 10);
    w.push('first\nsec');
    expect(out.text).toBe('gateway-1  | first\n');
    w.push('ond\r\n');
    w.push('tail');
    w.flush();
    expect(out.text).toBe('gateway-1  | first\ngateway-1  | second\ngateway-1  | tail\n');
  });

  it('colours the prefix with ANSI codes only when the sink is coloured', () => {
    const out = sink(true);
    new PrefixedWriter(out, 'ops', 0, 3).line('x');
    expect(out.text).toBe('\u001b[36mops |\u001b[0m x\n');
  });
});
