// Structural checks of the three images (infra/Dockerfile, Dockerfile.onnx-cuda,
// Dockerfile.tfjs-node-gpu) and .dockerignore. No Docker engine runs here: these read the files.
// What the cache layout does at run time is tested for real, with the same permissions, in
// test/model/model-cache-permissions.test.ts; the health probe in test/infra/grafana-dashboard.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseImages, DOCKERFILES, finalStage, repoFile } from './infra-files.ts';

const [cpu, onnxCuda, tfjsGpu] = DOCKERFILES.map(repoFile) as [string, string, string];

describe('Dockerfiles', () => {
  test('every image runs Node 22 LTS: the node image, or its binary copied onto the CUDA base', () => {
    assert.deepEqual([...new Set(baseImages(cpu))], [baseImages(cpu)[0]], 'the CPU image has one base');
    assert.match(baseImages(cpu)[0] ?? '', /^node:22\.\d+\.\d+-bookworm-slim/);
    for (const dockerfile of [onnxCuda, tfjsGpu]) {
      assert.match(baseImages(dockerfile)[0] ?? '', /^node:22\.\d+\.\d+-/);
      assert.match(dockerfile, /^COPY --from=node \/usr\/local\/bin\/node \/usr\/local\/bin\/node$/m);
    }
  });

  test('the CPU image carries no tfjs-node and skips the ONNX Runtime CUDA download', () => {
    assert.match(cpu, /rm -rf node_modules\/@tensorflow\/tfjs-node node_modules\/@tensorflow\/tfjs-node-gpu/);
    assert.match(cpu, /ONNXRUNTIME_NODE_INSTALL=skip/);
    assert.match(cpu, /npm ci --omit=dev --ignore-scripts/);
    assert.doesNotMatch(cpu, /npm rebuild/);
  });

  test('the onnx-cuda image is CUDA 12 with cuDNN 9 and installs the CUDA 12 provider, checked', () => {
    assert.match(baseImages(onnxCuda)[1] ?? '', /^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d/);
    // The variable wins over the script's flag, and the build stage sets it to skip.
    assert.match(onnxCuda, /ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
    assert.match(
      onnxCuda,
      /test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so/,
    );
    assert.match(finalStage(onnxCuda), /ENGINE=onnx-cuda/);
  });

  test('the tfjs-node-gpu image is CUDA 11.2 with cuDNN 8 and builds tfjs-node-gpu, checked', () => {
    assert.match(baseImages(tfjsGpu)[1] ?? '', /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu/);
    assert.match(tfjsGpu, /npm rebuild @tensorflow\/tfjs-node-gpu\b/);
    assert.match(tfjsGpu, /find node_modules\/@tensorflow\/tfjs-node-gpu\/lib -name tfjs_binding\.node/);
    assert.match(finalStage(tfjsGpu), /ENGINE=tfjs-node-gpu/);
  });

  test('the ONNX images generate the fp32 graph at build time into the cache the final stage reads', () => {
    for (const dockerfile of [cpu, onnxCuda])
      assert.match(dockerfile, /^RUN npm run fetch-model && npm run prepare-model$/m);
    assert.match(tfjsGpu, /^RUN npm run fetch-model$/m);
    for (const dockerfile of [cpu, onnxCuda, tfjsGpu]) {
      assert.match(finalStage(dockerfile), /RESNET_BATCH_CACHE=\/opt\/resnet-batch\/cache/);
      assert.match(finalStage(dockerfile), /COPY --from=build \/opt\/resnet-batch \/opt\/resnet-batch/);
    }
  });

  test('every image ships the compiled JavaScript, built with the dev dependencies in a stage of its own', () => {
    for (const dockerfile of [cpu, onnxCuda, tfjsGpu]) {
      const compile = /^FROM \$\{NODE_IMAGE\} AS compile$(.*?)^FROM /ms.exec(dockerfile)?.[1] ?? '';
      assert.match(compile, /^RUN npm ci --ignore-scripts --no-audit --no-fund$/m);
      assert.match(compile, /^RUN npm run build$/m);
      assert.match(dockerfile, /^COPY \. \.\nCOPY --from=compile \/app\/dist dist\/$/m);
    }
    assert.ok(repoFile('.dockerignore').split('\n').includes('dist'), 'a stale dist/ of the host stays out');
  });

  test('every image runs as uid 10001 under tini, with a runtime cache that user owns', () => {
    for (const dockerfile of [cpu, onnxCuda, tfjsGpu]) {
      assert.match(dockerfile, /useradd --system --uid 10001 --user-group .* resnet/);
      assert.match(dockerfile, /install -d -o resnet -g resnet -m 0755 \/var\/cache\/resnet-batch/);
      const last = finalStage(dockerfile);
      assert.match(last, /RESNET_BATCH_RUNTIME_CACHE=\/var\/cache\/resnet-batch/);
      assert.match(last, /^USER 10001:10001$/m);
      assert.match(last, /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "bin\/resnet-batch\.js"\]$/m);
      assert.match(dockerfile, /apt-get install -y --no-install-recommends .*\btini\b/);
    }
  });

  test('keeps node_modules, .git, local caches and result artifacts out of the build context', () => {
    const ignored = repoFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    for (const entry of ['node_modules', '.git', '.cache', '*.npy', '*.parquet', '*.onnx'])
      assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
    assert.ok(!ignored.includes('infra'), 'infra/ (the probe and the bucket set-up) is in the image');
  });
});
