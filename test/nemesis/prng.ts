/**
 * A small seeded PRNG (mulberry32): the same seed gives the same fault schedule and workload shape, so a
 * run can be replayed with `npm run nemesis -- --seed N`.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An independent generator derived from this seed and a label (one per lane, subscriber, ...). */
  fork(label: number): Prng {
    return new Prng((this.state ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0);
  }
}
