// The limits suite on the topology of AB_TEST_TOPOLOGY (standalone unless set): see limits.suite.ts.
import { limitsSuite } from './limits.suite';

limitsSuite();
