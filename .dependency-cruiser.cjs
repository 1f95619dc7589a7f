// Import rules of src/ (npm run lint runs this): the top-level folders form layers, and a folder
// may import only from the layers below it, so there is no cycle between folders and nothing
// below the composition root (src/node) or the CLI imports them. Order: bottom first.
const LAYERS = [
  'util',
  'wire',
  'metrics',
  'p2p',
  'gossip',
  'election',
  'scheduler',
  'executor',
  'tasks',
  'cluster',
  'events',
  'http',
  'client',
  'node',
  'cli',
]

const upward = LAYERS.map((layer, i) => ({
  name: `${layer}-imports-only-lower-layers`,
  comment: `src/${layer}/ may import only ${LAYERS.slice(0, i).join(', ') || 'nothing else in src/'}`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|') || '$^'})/` },
}))

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-unknown-src-folder',
      comment: 'every top-level folder of src/ must have a place in LAYERS above',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: `^src/(${LAYERS.join('|')})/` },
    },
    {
      name: 'src-does-not-import-tests-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|harness)/' },
    },
    {
      name: 'no-circular',
      comment: 'modules that import each other, even within one folder',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}
