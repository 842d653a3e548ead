// The same suite (pubsub-resync.suite.ts) on a three-master Redis Cluster with sharded Pub/Sub (issue 12): ONE
// gateway's subscriber connection to ONE master is reset and cut, killed, or blackholed while events flow;
// its sockets (a contract-only client among them) still get every event once, in order.
import { pubsubResyncSuite } from './pubsub-resync.suite';

pubsubResyncSuite({ topology: 'cluster', modes: ['sharded'], cases: ['cut', 'kill', 'stall'] });
