// ESLint as a Nest project has it: typescript-eslint's recommended rules, formatting left to Prettier.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'coverage/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      // As in Nest's own starter: `any` is sometimes the honest type of a framework's value.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Specs load modules as a host would, some of them lazily or fresh.
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The admin page's script runs in the browser, without a bundler; d3 and topojson come as scripts.
    files: ['src/example/admin/**/*.js'],
    languageOptions: { globals: { ...globals.browser, d3: 'readonly', topojson: 'readonly' }, sourceType: 'script' },
  },
);
