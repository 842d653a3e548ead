// @ts-check
// The build of a published SDK package (agent SDK, client) into `lib/`: ESM (`index.mjs`, `index.d.mts`) +
// CJS (`index.js`, `index.d.ts`) + source maps. `dist/` stays tsc -b's (project references). Workspace packages it imports (protocol, config, redis,
// telemetry) are bundled in from their TypeScript sources — they are internal, unpublished modules, so a
// stranger installs one tarball per SDK; third-party libraries stay external dependencies.
import { defineConfig } from 'tsup';

/**
 * @param {{ platform: 'node' | 'neutral', target: string }} options
 */
export function sdkPackageConfig({ platform, target }) {
  return defineConfig({
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform,
    target,
    outDir: 'lib',
    clean: true,
    sourcemap: true,
    splitting: false,
    // __dirname in the ESM build (the bundled Redis code finds its Lua scripts through it).
    shims: platform === 'node',
    noExternal: [/^@agent-bridge\//],
    dts: { resolve: [/^@agent-bridge\//, /^\./], compilerOptions: { composite: false, incremental: false } },
    esbuildOptions(options) {
      // Workspace packages resolve to their TypeScript sources (no prior tsc build needed).
      options.conditions = ['@agent-bridge/source', ...(platform === 'node' ? ['node'] : [])];
    },
  });
}
