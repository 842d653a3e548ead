import { type HistorySnapshot, type ReplayPlan, type ReplayRequest, planReplay } from './plan-replay';

const history = (epoch: number, headSeq: number, firstSeq: number | null): HistorySnapshot => ({
  epoch,
  headSeq,
  firstSeq,
});

describe('planReplay (guarantee 1.7: lost history is announced, never papered over)', () => {
  const rows: [string, ReplayRequest, HistorySnapshot, ReplayPlan][] = [
    [
      'first subscribe to a run without history',
      { afterSeq: 0 },
      history(0, 0, null),
      { action: 'serve', recovered: true },
    ],
    ['first subscribe to a run with history', { afterSeq: 0 }, history(3, 10, 1), { action: 'serve', recovered: true }],
    ['resume in the same epoch', { afterSeq: 4, epoch: 3 }, history(3, 10, 1), { action: 'serve', recovered: true }],
    ['resume at the head', { afterSeq: 10, epoch: 3 }, history(3, 10, 1), { action: 'serve', recovered: true }],
    [
      'resume right at the oldest held seq',
      { afterSeq: 4, epoch: 3 },
      history(3, 10, 5),
      { action: 'serve', recovered: true },
    ],
    [
      'resume from before the trimmed part',
      { afterSeq: 4, epoch: 3 },
      history(3, 10, 6),
      { action: 'serve', recovered: false, reason: 'trimmed' },
    ],
    [
      'resume into a new epoch',
      { afterSeq: 4, epoch: 3 },
      history(4, 2, 1),
      { action: 'restart', recovered: false, reason: 'epoch-changed' },
    ],
    [
      'epoch changed and the old position is beyond the trim: the epoch decides',
      { afterSeq: 1, epoch: 3 },
      history(4, 20, 10),
      { action: 'restart', recovered: false, reason: 'epoch-changed' },
    ],
    [
      'resume without an epoch (older client) from a trimmed position',
      { afterSeq: 1 },
      history(4, 20, 10),
      { action: 'serve', recovered: false, reason: 'trimmed' },
    ],
    [
      'epoch 0 from the client means unknown, not a change',
      { afterSeq: 4, epoch: 0 },
      history(3, 10, 1),
      { action: 'serve', recovered: true },
    ],
    [
      'client ahead of a history rebuilt under the same epoch number',
      { afterSeq: 12, epoch: 3 },
      history(3, 10, 1),
      { action: 'restart', recovered: false, reason: 'ahead-of-history' },
    ],
    [
      'client ahead of a run with no history yet (nothing to contradict it)',
      { afterSeq: 12, epoch: 3 },
      history(0, 0, null),
      { action: 'restart', recovered: false, reason: 'epoch-changed' },
    ],
    [
      'client ahead, no epoch known, history empty',
      { afterSeq: 12 },
      history(0, 0, null),
      { action: 'serve', recovered: true },
    ],
    [
      'client ahead, no epoch known, history present',
      { afterSeq: 12 },
      history(2, 10, 1),
      { action: 'restart', recovered: false, reason: 'ahead-of-history' },
    ],
  ];
  test.each(rows)('%s', (_name, request, snapshot, expected) => {
    expect(planReplay(request, snapshot)).toEqual(expected);
  });
});
