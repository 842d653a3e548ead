import {
  type Attributes,
  type Counter,
  type Gauge,
  type Histogram,
  type MeterProvider,
  type UpDownCounter,
  metrics as metricsApi,
} from '@opentelemetry/api';
import { INTEGRATION_STATES, type IntegrationState } from '@agent-bridge/protocol';

/** Instrumentation scope of every agent-bridge metric. */
export const METER_NAME = 'agent-bridge';

interface Instruments {
  integrationState: Gauge;
  integrationStateCode: Gauge;
  integrationTransitions: Counter;
  leaderChanges: Counter;
  leaderEpoch: Gauge;
  isLeader: Gauge;
  eventsEmitted: Counter;
  eventsRouted: Counter;
  eventsDeduplicated: Counter;
  eventsDeadLettered: Counter;
  eventsDelivered: Counter;
  endToEndLatency: Histogram;
  commitLatency: Histogram;
  queueDepth: Gauge;
  queueLag: Gauge;
  socketsConnected: UpDownCounter;
  replays: Counter;
  replayedEvents: Counter;
  gatewayResyncs: Counter;
  gatewayResyncedEvents: Counter;
  recoveries: Counter;
  healthChecks: Counter;
  membersAlive: Gauge;
}

let cached: { provider: MeterProvider; instruments: Instruments } | null = null;

function create(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(METER_NAME);
  return {
    integrationState: meter.createGauge('agent_bridge.integration.state', {
      description: '1 for the current integration state (label state), 0 for the others. Published by the leader.',
    }),
    integrationStateCode: meter.createGauge('agent_bridge.integration.state_code', {
      description: `Current integration state as a number: ${INTEGRATION_STATES.map((s, n) => `${n} ${s}`).join(', ')}.`,
    }),
    integrationTransitions: meter.createCounter('agent_bridge.integration.transitions', {
      description: 'Integration state transitions recorded by the leader (labels from, to).',
    }),
    leaderChanges: meter.createCounter('agent_bridge.leader.changes', {
      description:
        'Leadership acquisitions and losses seen by this replica (label change = acquired | lost | released).',
    }),
    leaderEpoch: meter.createGauge('agent_bridge.leader.epoch', {
      description: 'Fencing epoch of the current leadership (as seen by this replica).',
    }),
    isLeader: meter.createGauge('agent_bridge.leader.is_leader', {
      description: '1 while this replica holds the leader lease, else 0.',
    }),
    eventsEmitted: meter.createCounter('agent_bridge.events.emitted', {
      description: 'Events an agent SDK put on the events queue.',
    }),
    eventsRouted: meter.createCounter('agent_bridge.events.routed', {
      description: 'Events committed to a run history and broadcast to the gateways.',
    }),
    eventsDeduplicated: meter.createCounter('agent_bridge.events.deduplicated', {
      description: 'Events dropped as duplicates (same id or seq already committed).',
    }),
    eventsDeadLettered: meter.createCounter('agent_bridge.events.dead_lettered', {
      description: 'Jobs moved to the dead-letter queue (label reason = error code).',
    }),
    eventsDelivered: meter.createCounter('agent_bridge.events.delivered', {
      description: 'Events a gateway delivered to subscribed sockets (live or replayed).',
    }),
    endToEndLatency: meter.createHistogram('agent_bridge.event.e2e_latency_ms', {
      description: 'Time from the agent emit (envelope ts) to delivery by a gateway.',
      unit: 'ms',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] },
    }),
    commitLatency: meter.createHistogram('agent_bridge.event.commit_latency_ms', {
      description: 'Time from the agent emit (envelope ts) to the commit by a bridge replica.',
      unit: 'ms',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] },
    }),
    queueDepth: meter.createGauge('agent_bridge.queue.depth', {
      description: 'Jobs waiting in a BullMQ queue (label queue, status = waiting | active | delayed | failed).',
    }),
    queueLag: meter.createGauge('agent_bridge.queue.lag_ms', {
      description: 'Age of the oldest waiting job of a queue (label queue).',
      unit: 'ms',
    }),
    socketsConnected: meter.createUpDownCounter('agent_bridge.gateway.sockets', {
      description: 'Socket.IO connections open on this gateway.',
    }),
    replays: meter.createCounter('agent_bridge.replays', {
      description: 'Subscriptions that replayed history (label recovered = true | false).',
    }),
    replayedEvents: meter.createCounter('agent_bridge.replays.events', {
      description: 'Events sent from history in replays.',
    }),
    gatewayResyncs: meter.createCounter('agent_bridge.gateway.resyncs', {
      description:
        'Catch-ups of a gateway after its adapter subscription was lost or stalled (label reason = closed | stalled).',
    }),
    gatewayResyncedEvents: meter.createCounter('agent_bridge.gateway.resyncs.events', {
      description: 'Events a gateway re-sent from history to its rooms in catch-ups.',
    }),
    recoveries: meter.createCounter('agent_bridge.recoveries', {
      description: 'Recovery jobs (label outcome = enqueued | succeeded | retrying | failed).',
    }),
    healthChecks: meter.createCounter('agent_bridge.health.checks', {
      description: 'Health checks run by the leader (label state = resulting state).',
    }),
    membersAlive: meter.createGauge('agent_bridge.members.alive', {
      description: 'Live members (label role = bridge | gateway).',
    }),
  };
}

function instruments(): Instruments {
  // Instruments are bound to the meter provider that made them: re-create them when startTelemetry()
  // installs (or a test replaces) the global provider, so callers never hold no-op instruments.
  const provider = metricsApi.getMeterProvider();
  if (cached?.provider !== provider) cached = { provider, instruments: create(provider) };
  return cached.instruments;
}

function counter(pick: (i: Instruments) => Counter | UpDownCounter) {
  return { add: (value = 1, attributes?: Attributes): void => pick(instruments()).add(value, attributes) };
}

function gauge(pick: (i: Instruments) => Gauge) {
  return { record: (value: number, attributes?: Attributes): void => pick(instruments()).record(value, attributes) };
}

function histogram(pick: (i: Instruments) => Histogram) {
  return { record: (value: number, attributes?: Attributes): void => pick(instruments()).record(value, attributes) };
}

/**
 * The metrics of agent-bridge, one typed call each (`metrics.eventsRouted.add(1)`). They are OpenTelemetry
 * instruments of the global meter provider: no-ops until {@link startTelemetry} runs, then exported to
 * Prometheus (`/metrics`) or OTLP. Calling them costs a map lookup and never throws.
 */
export const metrics = {
  /** Records the published integration state (the leader calls it on every check and transition). */
  setIntegrationState(state: IntegrationState): void {
    const i = instruments();
    for (const s of INTEGRATION_STATES) i.integrationState.record(s === state ? 1 : 0, { state: s });
    // The code is the state's position in the protocol's list (documented with the gauge).
    const code = INTEGRATION_STATES.indexOf(state);
    if (code >= 0) i.integrationStateCode.record(code);
  },
  /** A recorded transition (`{ from, to }`). */
  integrationTransitions: counter((i) => i.integrationTransitions),
  /** `{ change: 'acquired' | 'lost' | 'released' }`. */
  leaderChanges: counter((i) => i.leaderChanges),
  leaderEpoch: gauge((i) => i.leaderEpoch),
  isLeader: gauge((i) => i.isLeader),
  eventsEmitted: counter((i) => i.eventsEmitted),
  eventsRouted: counter((i) => i.eventsRouted),
  eventsDeduplicated: counter((i) => i.eventsDeduplicated),
  /** `{ reason: <error code> }`. */
  eventsDeadLettered: counter((i) => i.eventsDeadLettered),
  eventsDelivered: counter((i) => i.eventsDelivered),
  /** Milliseconds from the envelope's `ts` to delivery. */
  endToEndLatency: histogram((i) => i.endToEndLatency),
  /** Milliseconds from the envelope's `ts` to commit. */
  commitLatency: histogram((i) => i.commitLatency),
  /** `{ queue, status }`. */
  queueDepth: gauge((i) => i.queueDepth),
  /** Milliseconds, `{ queue }`. */
  queueLag: gauge((i) => i.queueLag),
  /** +1 on connect, -1 on disconnect. */
  socketsConnected: counter((i) => i.socketsConnected),
  /** `{ recovered: 'true' | 'false' }`. */
  replays: counter((i) => i.replays),
  replayedEvents: counter((i) => i.replayedEvents),
  /** `{ reason: 'closed' | 'stalled' }`. */
  gatewayResyncs: counter((i) => i.gatewayResyncs),
  gatewayResyncedEvents: counter((i) => i.gatewayResyncedEvents),
  /** `{ outcome: 'enqueued' | 'succeeded' | 'retrying' | 'failed' }`. */
  recoveries: counter((i) => i.recoveries),
  /** `{ state }`. */
  healthChecks: counter((i) => i.healthChecks),
  /** `{ role }`. */
  membersAlive: gauge((i) => i.membersAlive),
};

/** The type of {@link metrics}. */
export type AgentBridgeMetrics = typeof metrics;
