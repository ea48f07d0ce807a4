import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests: every `graphql(`...`)` in test/ is checked against the
// checked-in schema.graphql and gets its result and variable types.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: false,
  // NodeNext ESM: generated relative imports need their .js extension.
  importExtension: '.js',
  generates: {
    'test/gql/': {
      preset: 'client',
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: 'string', ID: 'string' } },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
