import {
  EventEnvelopeSchema,
  IdSchema,
  INTEGRATION_STATES,
  INTEGRATION_TRANSITIONS,
  IntegrationState,
  StandardPayloadSchemas,
  SubscribeRequestSchema,
  isLegalTransition,
  keyLayout,
  runIdOfRoom,
  runRoom,
  toWireError,
  FencedError,
  PayloadTooLargeError,
  jsonSize,
  validateEvent,
  InvalidEventError,
} from './index';

function hashTag(key: string): string | null {
  const m = /\{([^}]+)\}/.exec(key);
  return m?.[1] ?? null;
}

describe('event envelope', () => {
  const valid = {
    id: 'evt-1',
    runId: 'run-1',
    seq: 1,
    epoch: 0,
    type: 'agent_started',
    ts: 1,
    payload: { agent: 'a' },
  };

  it('accepts a well-formed envelope and custom types', () => {
    expect(EventEnvelopeSchema.parse(valid)).toEqual(valid);
    expect(EventEnvelopeSchema.safeParse({ ...valid, type: 'my_custom.event-v2' }).success).toBe(true);
  });

  it('rejects ids that BullMQ or Redis Cluster would misread', () => {
    for (const id of ['a:b', '12345', '{tag}', '', 'x'.repeat(129), 'with space']) {
      expect(IdSchema.safeParse(id).success).toBe(false);
    }
    expect(IdSchema.safeParse('run_01.ab-C').success).toBe(true);
  });

  it('rejects a non-dense seq, a bad type and missing fields', () => {
    expect(EventEnvelopeSchema.safeParse({ ...valid, seq: 0 }).success).toBe(false);
    expect(EventEnvelopeSchema.safeParse({ ...valid, seq: 1.5 }).success).toBe(false);
    expect(EventEnvelopeSchema.safeParse({ ...valid, type: 'Bad Type' }).success).toBe(false);
    const { runId: _omit, ...noRun } = valid;
    expect(EventEnvelopeSchema.safeParse(noRun).success).toBe(false);
  });

  it('validates the standard payloads', () => {
    expect(StandardPayloadSchemas.agent_thinking.safeParse({ delta: 'hm' }).success).toBe(true);
    expect(StandardPayloadSchemas.agent_thinking.safeParse({}).success).toBe(false);
    expect(StandardPayloadSchemas.tool_completed.safeParse({ toolCallId: 't1', tool: 'calc', result: 4 }).success).toBe(
      true,
    );
    expect(StandardPayloadSchemas.agent_error.safeParse({ message: '' }).success).toBe(false);
  });

  it('measures JSON size in UTF-8 bytes and flags unserialisable values', () => {
    expect(jsonSize({ a: 'é' })).toBe(Buffer.byteLength('{"a":"é"}'));
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(jsonSize(cyclic)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('subscribe request', () => {
  it('takes an optional afterSeq and epoch', () => {
    expect(SubscribeRequestSchema.parse({ runId: 'r1' })).toEqual({ runId: 'r1' });
    expect(SubscribeRequestSchema.safeParse({ runId: 'r1', afterSeq: -1 }).success).toBe(false);
  });
});

describe('integration transitions', () => {
  it('allow recovery from FAILED and forbid leaving UNINITIALIZED except to INITIALIZING', () => {
    expect(isLegalTransition(IntegrationState.Failed, IntegrationState.Active)).toBe(true);
    expect(isLegalTransition(IntegrationState.Uninitialized, IntegrationState.Active)).toBe(false);
    for (const [from, tos] of Object.entries(INTEGRATION_TRANSITIONS)) {
      expect(tos).not.toContain(from);
    }
  });
});

describe('key layout', () => {
  const keys = keyLayout('ab');

  it('puts the keys of one run in one hash slot, and the cluster keys in another', () => {
    const run = [keys.runMeta('r1'), keys.runHistory('r1'), keys.runPending('r1')].map(hashTag);
    expect(new Set(run)).toEqual(new Set(['run:r1']));
    const cluster = [
      keys.leader,
      keys.leaderEpoch,
      keys.leaderLease,
      keys.integrationState,
      keys.integrationHistory,
      keys.integrationHealth,
    ].map(hashTag);
    expect(new Set(cluster)).toEqual(new Set(['cluster']));
  });

  it('names sharded run rooms in the run slot and never 20 characters long (the sharded adapter takes that for a socket id)', () => {
    for (let len = 1; len <= 40; len++) {
      const runId = 'r'.repeat(len);
      for (const mode of ['classic', 'sharded'] as const) {
        expect(runIdOfRoom(runRoom(runId, mode))).toBe(runId);
      }
      const room = runRoom(runId, 'sharded');
      expect(room).not.toHaveLength(20);
      expect(hashTag(room)).toBe(hashTag(keys.runMeta(runId)));
    }
    expect(runRoom('len14-run-0000', 'sharded')).toBe('{run:len14-run-0000}.');
    expect(runIdOfRoom('AbCdEfGhIjKlMnOpQrSt')).toBeNull();
  });

  it('keeps installations apart by prefix', () => {
    expect(keyLayout('x').runMeta('r')).not.toBe(keys.runMeta('r'));
    expect(keys.bullPrefix).toBe('ab:{bull}');
  });
});

describe('errors', () => {
  it('carry a stable code and typed fields, and never leak internals on the wire', () => {
    const fenced = new FencedError(3, 4);
    expect(fenced).toBeInstanceOf(Error);
    expect(fenced.name).toBe('FencedError');
    expect(fenced.toWire()).toEqual({
      code: 'FENCED',
      message: expect.stringContaining('epoch 3') as string,
      details: { epoch: 3, currentEpoch: 4 },
    });
    expect(new PayloadTooLargeError(10, 5).toWire().code).toBe('PAYLOAD_TOO_LARGE');
    expect(toWireError(new Error('secret internals'))).toEqual({ code: 'INTERNAL', message: 'internal error' });
  });
});

describe('validateEvent (the one content check of the SDK and the bridge)', () => {
  it('reserves gap, bounds the payload size, checks standard payloads and names the failing path', () => {
    expect(() => validateEvent('custom.thing', { any: 'json' }, 1000)).not.toThrow();
    expect(() => validateEvent('gap', { missingSeq: 1, reason: 'x' }, 1000)).toThrow(/reserved for the bridge/);
    expect(() => validateEvent('agent_thinking', { delta: 'x'.repeat(100) }, 50)).toThrow(PayloadTooLargeError);
    expect(() => validateEvent('agent_thinking', {}, 1000)).toThrow(/invalid agent_thinking payload: payload\.delta/);
    expect(() => validateEvent('agent_thinking', {}, 1000, { payloadPath: '' })).toThrow(
      /invalid agent_thinking payload: delta/,
    );
    expect(() => validateEvent('Bad Type', {}, 1000)).toThrow(InvalidEventError);
  });

  it('the agent_thinking fast path accepts exactly what its schema accepts', () => {
    const cases: unknown[] = [
      { delta: 'hm' },
      { delta: '' },
      { delta: 'x', extra: 1 },
      { delta: 1 },
      { delta: null },
      {},
      [],
      ['x'],
      'x',
      null,
      42,
    ];
    for (const payload of cases) {
      const bySchema = StandardPayloadSchemas.agent_thinking.safeParse(payload).success;
      const byValidate = (() => {
        try {
          validateEvent('agent_thinking', payload, 1000);
          return true;
        } catch {
          return false;
        }
      })();
      expect({ payload, valid: byValidate }).toEqual({ payload, valid: bySchema });
    }
  });
});

describe('integration states', () => {
  it('are listed in lifecycle order: the state_code metric (alerts.yml: DEGRADED 3, FAILED 4) is the index', () => {
    expect(INTEGRATION_STATES).toEqual(['UNINITIALIZED', 'INITIALIZING', 'ACTIVE', 'DEGRADED', 'FAILED']);
  });
});
