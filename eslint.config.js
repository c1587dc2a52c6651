// ESLint flat config for the smarthold monorepo.
//
// What it does: lints every package's TypeScript sources (`packages/*/src`, `examples/*/src`)
// with typescript-eslint's strict type-checked preset, with
// `no-floating-promises` on (STYLE.md point 9), and gives the plain `.mjs`
// build/test scripts a small set of basic correctness rules.
// What it does not do: formatting (Prettier owns that) or linting build
// output, vendored model data or dependencies.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      // Trained model data, not source.
      'packages/plugin-bayes/model/**',
    ],
  },
  {
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Numbers in log lines and SMTP replies (`${code} ${text}`, sizes,
      // counts) are the normal case and always stringify predictably.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `_`-prefixed parameters keep an interface's signature; `{ a: _a, ...rest }`
      // is the idiom for omitting keys from a copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    rules: {
      // node:test's test()/describe()/it() return promises that the runner
      // itself awaits; calling them at top level is the documented usage.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      // Tests assert on values whose static type already "proves" the
      // outcome; the runtime check is the point of the test.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    // Build, test-runner and training scripts: plain ESM JavaScript with no
    // type information, so only basic rules that need none.
    files: ['**/*.mjs', 'eslint.config.js'],
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-unreachable': 'error',
      'no-dupe-keys': 'error',
      'no-self-assign': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'smart'],
    },
  },
);
