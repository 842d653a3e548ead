// The same fault suite (faults.suite.ts) on a three-master Redis Cluster with three event partitions
// (issue 12): a gateway and a bridge replica SIGKILLed mid-stream, nothing lost or duplicated. The SIGTERM
// case stays on standalone to keep CI short; `AB_TEST_TOPOLOGY=cluster npx jest test/e2e/faults.test.ts`
// runs every case that a Cluster allows.
import { faultSuite } from './faults.suite';

faultSuite({ topology: 'cluster', cases: ['sigkill-gateway', 'sigkill-bridge'] });
