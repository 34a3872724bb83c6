import { after, before } from 'node:test';

/**
 * The lifetime of what the harness starts: a use*() call (useRedis, useS3, useTempDir) made at a
 * file's top level or in a describe block starts its resource before that scope's tests and
 * stops it after them, in reverse order of the calls, so a worker given to teardown() below a
 * useRedis() stops before its Redis does.
 *
 * node:test runs after() hooks in the order they were registered, not in reverse, so the harness
 * keeps one stack of clean-ups per scope and the first of its after() hooks to run empties it. A
 * plain after() hook registered below a use*() call therefore runs once the harness has cleaned
 * up: anything that needs a harness resource to end cleanly goes through teardown().
 *
 * Node 20 starts a file's top-level before() hooks one after the other without waiting for each
 * to finish (a describe block's hooks do wait), so a top-level hook that reads a harness resource
 * is declared with setUp(), which waits for the resources declared above it.
 */

type Cleanup = () => unknown;

const FILE_SCOPE = Symbol('file');
const stacks = new Map<unknown, Cleanup[]>();
/** Settles once every resource whose before() hook has begun is started. */
let started: Promise<unknown> = Promise.resolve();

/** A describe block's hooks share one SuiteContext; each hook of the file's root gets a new context. */
function scopeOf(context: { name: string }): unknown {
  return context.name === '<root>' ? FILE_SCOPE : context;
}

function stackOf(context: { name: string }): Cleanup[] {
  const scope = scopeOf(context);
  let stack = stacks.get(scope);
  if (stack === undefined) {
    stack = [];
    stacks.set(scope, stack);
  }
  return stack;
}

async function cleanUp(context: { name: string }): Promise<void> {
  const stack = stackOf(context);
  const errors: unknown[] = [];
  for (let cleanup = stack.pop(); cleanup !== undefined; cleanup = stack.pop()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, 'clean-up after the tests failed');
}

/**
 * Starts a resource before the scope's tests and stops it after them (see the file comment);
 * `current()` is the started resource, and throws when read before it is started.
 */
export function useResource<T>(start: () => Promise<T>, stop: (resource: T) => unknown): () => T {
  let resource: { value: T } | undefined;
  before(async (context) => {
    // The clean-up takes its place in the stack now, in declaration order, not when the start ends.
    stackOf(context).push(() => resource !== undefined && stop(resource.value));
    const starting = start().then((value) => {
      resource = { value };
    });
    started = Promise.all([started, starting.catch(() => undefined)]);
    await starting;
  });
  after(cleanUp);
  return () => {
    if (resource === undefined) throw new Error('a harness resource was read before its before() hook ran');
    return resource.value;
  };
}

/** A before() hook that runs once the harness resources declared above it are started (see the file comment). */
export function setUp(fn: () => unknown): void {
  before(async () => {
    await started;
    await fn();
  });
}

/** Runs `cleanup` after the scope's tests, before what the harness started above this call stops. */
export function teardown(cleanup: Cleanup): void {
  before((context) => {
    stackOf(context).push(cleanup);
  });
  after(cleanUp);
}
