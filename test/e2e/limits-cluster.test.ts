// The same limits suite (limits.suite.ts) on a three-master Redis Cluster (issue 12): the per-user connection
// and run counts both gateways keep in Redis still make one limit over the whole cluster.
import { limitsSuite } from './limits.suite';

limitsSuite('cluster');
