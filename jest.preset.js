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
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60_000,
};
