/**
 * Prefixed, coloured console output of the launcher: every line of a child process is shown as
 * `name | line`, and pino's JSON lines are shortened to `time LEVEL message key=value`.
 */

const COLOURS = [36, 35, 33, 32, 34, 96, 95, 93, 92, 94];
const LEVELS: Record<number, { name: string; colour: number }> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 90 },
  30: { name: 'INFO ', colour: 32 },
  40: { name: 'WARN ', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 41 },
};
const HIDDEN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'service', 'instance']);

/** Where the launcher writes; `colour` false gives plain text (not a TTY, or NO_COLOR). */
export interface OutputSink {
  write(text: string): void;
  colour: boolean;
}

/** Wraps `text` in an ANSI colour when the sink is coloured. */
export function paint(sink: OutputSink, code: number, text: string): string {
  return sink.colour ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** pino's `msg`: a string, or absent; anything else as JSON. */
function messageText(msg: unknown): string {
  if (msg === undefined || msg === null) return '';
  return typeof msg === 'string' ? msg : JSON.stringify(msg);
}

/** Shortens one pino JSON line; any other line is returned unchanged. */
export function formatLogLine(line: string, sink: OutputSink): string {
  if (!line.startsWith('{')) return line;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof rec.level !== 'number') return line;
  const level = LEVELS[rec.level] ?? { name: String(rec.level), colour: 0 };
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const extras = Object.entries(rec)
    .filter(([k]) => !HIDDEN_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const short = extras.length > 400 ? `${extras.slice(0, 400)}...` : extras;
  return `${paint(sink, 90, time)} ${paint(sink, level.colour, level.name)} ${messageText(rec.msg)}${short ? ` ${paint(sink, 90, short)}` : ''}`;
}

/** Writes the lines of one source with its coloured, padded name in front. */
export class PrefixedWriter {
  private partial = '';
  private readonly prefix: string;

  constructor(
    private readonly sink: OutputSink,
    name: string,
    colourIndex: number,
    width: number,
  ) {
    this.prefix = paint(sink, COLOURS[colourIndex % COLOURS.length] ?? 36, `${name.padEnd(width)} |`);
  }

  /** Feeds a chunk of output; complete lines are written at once, a partial line waits for its end. */
  push(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** Writes whatever partial line is left. */
  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  /** Writes one line. */
  line(text: string): void {
    this.sink.write(`${this.prefix} ${formatLogLine(text.replace(/\r$/, ''), this.sink)}\n`);
  }
}
