// `npm test` runs every package's suite in one Jest run.
/** @type {import('jest').Config} */
module.exports = {
  projects: [
    '<rootDir>/shared/*/jest.config.js',
    '<rootDir>/services/*/jest.config.js',
    '<rootDir>/test/jest.config.js',
  ],
  maxWorkers: 2,
  testTimeout: 60_000,
};
