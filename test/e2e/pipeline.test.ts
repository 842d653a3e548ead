// The pipeline suite on the topology of AB_TEST_TOPOLOGY (standalone unless set): see pipeline.suite.ts.
import { pipelineSuite } from './pipeline.suite';

pipelineSuite();
