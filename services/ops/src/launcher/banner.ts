import type { AppConfig } from '@agent-bridge/config';
import { type OutputSink, paint } from './output';

/** What the ready banner shows: where to go, how to sign in, what runs. */
export interface BannerFacts {
  redisUrl: string;
  embeddedRedis: boolean;
  chatUrls: string[];
  statusUrl: string;
  bullBoardUrl: string;
  /** The Redis topology, Pub/Sub mode and partitions (`describeRedis`). */
  redisLine: string;
  replicas: number;
  gateways: number;
  demoAgent: boolean;
}

/** The lines printed once the integration is ACTIVE. */
export function printBanner(sink: OutputSink, facts: BannerFacts, config: AppConfig): void {
  const b = (t: string): string => paint(sink, 1, t);
  const [first, ...others] = facts.chatUrls;
  const lines = [
    '',
    paint(sink, 32, b('agent-bridge is ready - integration ACTIVE')),
    `  ${b('Chat page')}     ${first ?? ''}${others.length > 0 ? `   (also ${others.join(', ')})` : ''}`,
    `  ${b('Status page')}   ${facts.statusUrl}`,
    `  ${b('Bull Board')}    ${facts.bullBoardUrl}`,
    `  ${b('Demo sign-in')}  on the chat page, any user name (e.g. "alice"); no password`,
    `  ${b('Ops login')}     user "${config.ops.username}", password "${config.ops.password ?? '(unset)'}" (AB_OPS_USERNAME / AB_OPS_PASSWORD)`,
    `  ${b('Redis')}         ${facts.redisUrl}${facts.embeddedRedis ? ' (embedded)' : ''}`,
    `  ${b('Topology')}      ${facts.redisLine}`,
    `  ${facts.replicas} bridge replica(s), ${facts.gateways} gateway(s), ops${facts.demoAgent ? ', demo agent' : ''}`,
    '  Press Ctrl-C to stop everything.',
    '',
  ];
  sink.write(`${lines.join('\n')}\n`);
}
