// @ts-check
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { readdirSync } from 'node:fs';

// Packages talk through their public entry point only. The one other entry is a browser-safe subpath the
// package declares in its `exports` (its main entry pulls ioredis and BullMQ): the status page bundles it.
const packageBoundaries = [
  {
    group: ['@agent-bridge/*/*', '!@agent-bridge/control-plane/queue-row'],
    message: 'Import a workspace package by its name, not a deep path.',
  },
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
  // Type-checked strict rules (issue 13): they read the types, so a check the types make redundant, a
  // promise-returning function that never awaits or an `any` leaking through is an error, not a review note.
  ...tseslint.configs.strictTypeChecked,
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
      // A number reads the same in every locale and has no surprising rendering; anything else (objects,
      // undefined, null) in a message or key is almost always a mistake, so only numbers join strings freely.
      // Every option is spelled out: the rule's own defaults allow everything, and options given here
      // replace the strict preset's, so `{ allowNumber: true }` alone would also allow any, null and booleans.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allowAny: false,
          allowBoolean: false,
          allowNullish: false,
          allowNever: false,
          allowRegExp: false,
        },
      ],
      // A one-line arrow that returns a void call (`(e) => handle(e)`, `.then(() => resolve())`) is how
      // callbacks are written; a void value used in an expression or returned from a block is still an error.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
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
    // In a test, `x!` states what the test expects: if it is wrong, the test fails on the next line with a
    // TypeError pointing at it, which is the report we want. Source code narrows or throws a typed error.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
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
