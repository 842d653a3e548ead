/** @type {import('jest').Config} */
module.exports = { ...require('../jest.preset.js'), displayName: 'system', testMatch: ['<rootDir>/**/*.test.ts'] };
