// `npm run build:pages`: bundles the browser pages (the chat page, the ops status page) without starting
// anything — for the image build, or an ops server run on its own from a checkout. `npm start` does this
// at every start.
import { join } from 'node:path';
import { buildChatBundle, buildStatusBundle } from './page-bundles';

const GATEWAY_PUBLIC = join(__dirname, '..', '..', '..', 'gateway', 'public');

Promise.all([buildChatBundle(GATEWAY_PUBLIC), buildStatusBundle()])
  .then((files) => process.stdout.write(`built ${files.join(', ')}\n`))
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
