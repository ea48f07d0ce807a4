/**
 * Import rules checked by `npm run lint:deps` (and in .ci/run). See ARCHITECTURE.md, "Layers".
 * Only runtime imports count: `import type` is erased by tsc, so a type-only edge cannot make a
 * module evaluate before its dependency and is allowed to point either way.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A runtime import cycle: move the shared code to a lower layer so imports run one way.',
      from: { path: '^src/' },
      to: {
        circular: true,
        viaOnly: { dependencyTypesNot: ['type-only'] },
      },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    exclude: { path: ['^src/generated/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
