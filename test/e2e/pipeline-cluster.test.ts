// The same pipeline suite (pipeline.suite.ts) on a three-master Redis Cluster with three event partitions and
// sharded Pub/Sub (issue 12): per-run order and exactly-once at scale, paged replay, a client cut and back,
// idempotency and dead letters with the runs spread over the masters. The access-control cases do not
// depend on Redis and stay on standalone to keep CI short; `AB_TEST_TOPOLOGY=cluster npx jest
// test/e2e/pipeline.test.ts` runs them all on a Cluster.
import { pipelineSuite } from './pipeline.suite';

pipelineSuite({ topology: 'cluster', cases: ['scale', 'late', 'cut', 'dup', 'bad-input', 'dlq'] });
