import { join } from 'node:path';

/** The ops package's root (the same from `src/server/` and `dist/server/`). */
const OPS_ROOT = join(__dirname, '..', '..');

/** Static files of the status page: its HTML and CSS. */
export const PUBLIC_DIR = join(OPS_ROOT, 'public');

/** The status page's TypeScript entry (browser code, see `status-page/tsconfig.json`). */
export const STATUS_PAGE_ENTRY = join(OPS_ROOT, 'status-page', 'main.ts');

/**
 * The status page's script: {@link STATUS_PAGE_ENTRY} bundled with uPlot (by `buildStatusBundle`, not
 * committed), and its source map beside it.
 */
export const STATUS_BUNDLE = join(PUBLIC_DIR, 'dist', 'status.js');
