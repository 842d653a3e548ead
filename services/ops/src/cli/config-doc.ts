import { explainConfig } from '@agent-bridge/config';

function cell(value: unknown): string {
  if (value === undefined) return '—';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return `\`${s.replace(/\|/g, '\\|')}\``;
}

/**
 * docs/configuration.md, generated from the config schema (`explainConfig()`): every key with its
 * environment variable, default and description. `npm run docs:config` rewrites the file; a test fails
 * when the committed file is out of date.
 */
export function renderConfigDoc(): string {
  const rows = explainConfig();
  const sections = new Map<string, typeof rows>();
  for (const row of rows) {
    const section = row.key.includes('.') ? (row.key.split('.')[0] ?? '') : 'general';
    sections.set(section, [...(sections.get(section) ?? []), row]);
  }
  const out = [
    '# Configuration',
    '',
    '<!-- Generated from shared/config/src/schema.ts by `npm run docs:config`. Do not edit by hand. -->',
    '',
    'Every setting is read once at start by one typed schema (`@agent-bridge/config`). Each can be set by its',
    'environment variable or, with the dotted key, in a JSON/YAML file named by `AB_CONFIG_FILE`; environment',
    'variables win over the file. Invalid values stop the process at start with a message naming the variable.',
    'Secrets are redacted wherever configuration is printed (`agent-bridge config`).',
    '',
    `${rows.length} settings.`,
    '',
  ];
  for (const [section, list] of sections) {
    out.push(`## ${section}`, '', '| key | environment variable | default | description |', '|---|---|---|---|');
    for (const r of list) {
      const desc = `${r.description}${r.secret ? ' **Secret.**' : ''}`.replace(/\|/g, '\\|');
      out.push(`| \`${r.key}\` | \`${r.env}\` | ${cell(r.default)} | ${desc} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
