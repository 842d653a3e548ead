// Shared Jest settings: SWC transpiles TypeScript (type checking is `npm run typecheck`'s job),
// and the `@agent-bridge/source` export condition makes workspace packages resolve to their
// TypeScript sources, so tests never need a build step.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: {
    customExportConditions: ['@agent-bridge/source', 'node', 'node-addons', 'require', 'default'],
  },
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // content-disposition 3 (used by @fastify/static, under Bull Board) and jose 6 ship ESM only: Node 20 loads it with
  // require(esm), Jest's module system does not, so SWC transpiles it.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|jose)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60_000,
};
