import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded the first time the returned function is called, then kept. The stores'
 * client libraries (the AWS SDK, undici) cost 80-250 ms each to import, and every URI parser
 * reaches this folder (uri.ts -> store-registry.ts -> each store), so importing them up front made
 * every command and the engine thread pay for stores they never open (issue 12: start-up under
 * 2 s). `require` returns the very module an ESM `import` elsewhere gets, synchronously, so the
 * first call needs no await.
 */
export function loadOnFirstUse<Module>(specifier: string): () => Module {
  let loaded: Module | undefined;
  return () => {
    loaded ??= require(specifier) as Module;
    return loaded;
  };
}
