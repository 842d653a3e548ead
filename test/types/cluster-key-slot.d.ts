// `cluster-key-slot` ships no types: the one function the benchmarks use (the Redis Cluster key slot, hash tags
// honoured, as ioredis computes it).
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
