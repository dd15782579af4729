import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', '.local/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // A service's core holds its rules: no I/O, no timers, no clock of its own (it is passed in).
    files: ['services/*/core/**/*.ts'],
    rules: {
      // Types of records and clients may be named; no code that does I/O may be imported.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/store/**', '**/run/**'], message: 'core imports neither store nor run' },
            {
              group: [
                'kafkajs',
                '@clickhouse/*',
                'prom-client',
                '**/shared/kafka/**',
                '**/shared/clickhouse/**',
                '**/shared/http/**',
                'node:http',
                'node:net',
                'node:fs',
                'node:fs/*',
              ],
              message: 'core does no I/O',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval'],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'take the clock as a parameter' },
        { object: 'performance', property: 'now', message: 'take the clock as a parameter' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'take the clock as a parameter' }],
    },
  },
)
