// Guarantee 1.9 on the topology of AB_TEST_TOPOLOGY (standalone unless set; see pubsub-resync.suite.ts): both
// Pub/Sub modes on standalone (the machine's Redis is ≥ 7: the sharded adapter's SSUBSCRIBE connection is the
// one lost), sharded on a Cluster.
import { testTopology } from './harness';
import { pubsubResyncSuite } from './pubsub-resync.suite';

const topology = testTopology();
pubsubResyncSuite({ topology, modes: topology === 'cluster' ? ['sharded'] : ['sharded', 'classic'] });
