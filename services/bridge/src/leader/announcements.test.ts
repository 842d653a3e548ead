import { announcement, announcementEffect } from './announcements';

describe('announcementEffect — what a message on the leader channel means to a replica', () => {
  const elected = (id: string, epoch: number): string => announcement('elected', id, epoch);
  const released = (id: string, epoch: number): string => announcement('released', id, epoch);
  it.each([
    // [case, message, our term's epoch (null: standby), expected effect]
    [
      'a newer epoch elected elsewhere ends our term',
      elected('b', 8),
      7,
      { kind: 'lose', reason: 'replica b was elected with newer epoch 8' },
    ],
    ['our own election is no news', elected('a', 7), 7, { kind: 'ignore' }],
    ['an older epoch elected (a delayed message) is ignored', elected('b', 6), 7, { kind: 'ignore' }],
    ['an election seen by a standby is ignored', elected('b', 8), null, { kind: 'ignore' }],
    ['a release wakes a standby', released('b', 7), null, { kind: 'wake' }],
    ['a release while leading is ignored', released('b', 6), 7, { kind: 'ignore' }],
    ['our own release is ignored', released('a', 7), null, { kind: 'ignore' }],
    ['not JSON', 'elected', null, { kind: 'ignore' }],
    ['JSON null', 'null', 7, { kind: 'ignore' }],
    ['an unknown type', JSON.stringify({ type: 'resigned', id: 'b', epoch: 9, at: 0 }), 7, { kind: 'ignore' }],
    [
      'an epoch that is not a number',
      JSON.stringify({ type: 'elected', id: 'b', epoch: '9', at: 0 }),
      7,
      { kind: 'ignore' },
    ],
  ] as const)('%s', (_case, message, termEpoch, effect) => {
    expect(announcementEffect(message, 'a', termEpoch)).toEqual(effect);
  });
});
