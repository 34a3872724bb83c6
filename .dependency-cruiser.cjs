// Import rules of the source folders, checked by `npm run lint` (dependency-cruiser). Each top-level
// folder is one role, and a role imports only the roles below it. README's "How a run works"
// copies this picture; keep the two the same.
//
//   bin/  ->  ops/       ->  producer/, worker/  ->  model/  ->  shared/
//   bin/  ->  schedule/  ->  producer/           ->  model/  ->  shared/
//
// shared/ holds the contracts and plumbing every role uses and imports no other source folder.
// Inside it, one sub-folder per concern: inference/ (engine, precision, model reference),
// queue/ (the job wire format and Redis connection), run/ (run definition, record, registry),
// output/ (the output layout and its readers), storage/ (one sub-folder per store),
// observability/ (logs, traces, the live line); config.ts and errors.ts sit at its root.
// storage/ is self-contained: it imports only itself and shared/'s root, so a store can be
// lifted out with its contract. model/ is the ResNet artifact (spec, weights, graphs, int8),
// used by the worker and by the producer's model checks; producer/ and worker/ never import each
// other; schedule/ submits runs through producer/ and is started in workers by bin/; ops/ runs,
// inspects and steers runs (its `run` starts workers in and beside its process); bin/ maps flags
// to commands. ops/ and schedule/ do not import each other. No folder imports test/ or bench/,
// and nothing imports around a circle. test/tooling/import-rules.test.ts proves that a
// producer -> worker import fails.
const SOURCE = '^(bin|ops|schedule|producer|worker|model|shared)/';

/** A rule that `from` may not import any of `to`. */
const forbid = (name, comment, from, to) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'A circle of imports makes every module in it load-order dependent; break it by moving the shared piece down.',
      severity: 'error',
      from: { path: SOURCE },
      to: { circular: true },
    },
    forbid(
      'shared-is-the-bottom',
      'shared/ holds contracts and plumbing; it imports no role folder.',
      '^shared/',
      '^(bin|ops|schedule|producer|worker|model)/',
    ),
    forbid(
      'model-below-roles',
      'model/ is a library of the roles; it imports only shared/.',
      '^model/',
      '^(bin|ops|schedule|producer|worker)/',
    ),
    forbid(
      'producer-submits-only',
      'producer/ lists and enqueues; it does not import the worker or the roles above it.',
      '^producer/',
      '^(bin|ops|schedule|worker)/',
    ),
    forbid(
      'worker-processes-only',
      'worker/ processes shards; it does not import the producer or the roles above it (the schedule consumer is injected by bin/).',
      '^worker/',
      '^(bin|ops|schedule|producer)/',
    ),
    forbid(
      'schedule-submits-only',
      'schedule/ submits through producer/; it does not import ops/, bin/ or the worker.',
      '^schedule/',
      '^(bin|ops|worker)/',
    ),
    forbid(
      'ops-beside-schedule',
      'ops/ is called by bin/; it imports neither bin/ nor schedule/.',
      '^ops/',
      '^(bin|schedule)/',
    ),
    forbid(
      'storage-is-self-contained',
      'shared/storage/ imports only itself and the root of shared/ (config, errors), never the queue, run or output.',
      '^shared/storage/',
      '^shared/(inference|queue|run|output|observability)/',
    ),
    forbid('no-test-code-in-source', 'Source never imports tests or benchmarks.', SOURCE, '^(test|bench)/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
