// The ops status page (status.html): the live status, the charts and timeline, and the dead-letter view,
// each polling its part of the ops API. Bundled with uPlot for the browser into ../public/dist/status.js
// (by `npm start`, the browser tests and the image build; see src/launcher/page-bundles.ts).
import { startCharts } from './charts';
import { startDeadLetters } from './dlq';
import { startStatus } from './status';

startStatus();
startCharts();
startDeadLetters();
