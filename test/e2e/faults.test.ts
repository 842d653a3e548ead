// The fault suite on the topology of AB_TEST_TOPOLOGY (standalone unless set): see faults.suite.ts.
import { faultSuite } from './faults.suite';

faultSuite();
