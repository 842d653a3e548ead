/** @type {import('jest').Config} */
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'ops',
  // content-disposition 3 (used by @fastify/static, under Bull Board) ships ESM only: Node 20 loads it with
  // require(esm), Jest's module system does not, so SWC transpiles it.
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
};
