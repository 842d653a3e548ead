// @ts-check
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { readdirSync } from 'node:fs';

// Packages talk through their public entry point only.
const packageBoundaries = [
  { group: ['@agent-bridge/*/*'], message: 'Import a workspace package by its name, not a deep path.' },
  { group: ['**/shared/*/src/**', '**/services/*/src/**'], message: 'No deep imports into another package.' },
];

// A service is a deployable process, never a library: what two services share lives in shared/ (the
// control plane's read model and recovery contract in @agent-bridge/control-plane, tokens in
// @agent-bridge/auth). Each service may import only itself among the services.
const services = readdirSync(new URL('./services', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const serviceBoundaries = services.map((service) => ({
  files: [`services/${service}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...packageBoundaries,
          {
            group: services.filter((other) => other !== service).map((other) => `@agent-bridge/${other}`),
            message: 'A service never imports another service: move what both need into a shared/ package.',
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/lib/**',
      '**/node_modules/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      'services/*/public/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      // A lost promise is a lost event.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/no-cycle': 'error',
      'no-restricted-imports': ['error', { patterns: packageBoundaries }],
      // One schema reads the environment: @agent-bridge/config.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @agent-bridge/config.' },
      ],
      'no-console': 'error',
    },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['shared/*/tsconfig.json', 'services/*/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
  },
  {
    files: [
      'shared/config/src/load.ts',
      '**/*.test.ts',
      'test/**/*.ts',
      'shared/testing/**/*.ts',
      'scripts/**',
      // Examples are written as a user of the published packages would: environment and console directly.
      'examples/**',
    ],
    rules: { 'no-restricted-properties': 'off', 'no-console': 'off' },
  },
  {
    // One concept per file: past 350 lines of code a file is doing several jobs. Every TypeScript file of
    // the repository: sources, tests, benches, scripts and examples (no generated tables are in TypeScript).
    // A long test file is split by the behaviour it covers, its fixtures in a helper module.
    files: ['**/*.ts'],
    rules: { 'max-lines': ['error', { max: 350, skipBlankLines: true, skipComments: true }] },
  },
  {
    // The browser pages (the chat page, the ops status page) have no logger: the console is where a developer
    // looks. The status page's program also holds Node's types (its replies' types come from the server's
    // declarations): Node's globals are refused here, as a browser would.
    files: ['services/gateway/chat/**/*.ts', 'services/ops/status-page/**/*.ts'],
    rules: {
      'no-console': ['error', { allow: ['warn'] }],
      'no-restricted-globals': [
        'error',
        ...['process', 'Buffer', 'global', 'require', 'module', '__dirname', '__filename', 'setImmediate'].map(
          (name) => ({ name, message: `${name} is Node's: the page runs in a browser.` }),
        ),
      ],
    },
  },
  {
    // Each example's own tsconfig is for its users (published packages, no workspace sources): lint the
    // examples in the program `npm run typecheck` checks, which resolves the SDKs to their sources.
    files: ['examples/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: './examples/tsconfig.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  ...serviceBoundaries,
);
