// Lint rules. Workflow code must stay deterministic: no Node built-ins, no I/O clients, and
// nothing but types from activities/ (Temporal samples' shared ESLint config does the same).
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const forbiddenInWorkflows = [
  ...builtinModules.flatMap((name) => [name, `node:${name}`]),
  'pg',
  'pino',
  'zod',
  'yaml',
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/**', '.golive/**', '.tools/**', 'test/histories/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'workflow code is deterministic: do I/O in an activity',
          })),
          patterns: [
            { group: ['@slack/*', '@aws-sdk/*'], message: 'workflow code is deterministic: call this from an activity' },
            { group: ['**/activities/**', '../activities/*'], allowTypeImports: true, message: 'workflows import only types from activities/' },
            { group: ['**/config/**', '**/store/**', '**/stack/**', '**/runtime/**'], message: 'workflow code takes configuration as arguments' },
            { group: ['**/definitions/schema*', '**/definitions/load*', '**/definitions/targets*', '**/definitions/actions*', '**/definitions/fields*'], allowTypeImports: true, message: 'workflows use only pure helpers from definitions/ (schemas pull in zod)' },
          ],
        },
      ],
    },
  },
);
