import { resnet50 } from '../../model/spec.ts';
import { ResnetBatchError } from '../../shared/errors.ts';
import { type BatchOutput, checkBatch, type InferenceEngine } from '../../shared/inference/engine.ts';

/**
 * An engine without a model: it checks the batch like a real engine, then returns zero
 * embeddings and zero probabilities at once. It measures the ceiling of everything but the model
 * (fetch, decode, queueing, writes): `npm run bench` runs a worker on it, and tests can use it
 * where the numbers do not matter. Never a production choice: `--engine auto` does not consider
 * it, and its rows carry the engine name 'null' so no result can pass for a real one.
 */
export class NullEngine implements InferenceEngine {
  readonly name = 'null';
  readonly embeddingSize = resnet50.embeddingSize;
  readonly classCount = resnet50.classCount;
  readonly inputSize = resnet50.inputSize;
  private disposed = false;

  async infer(pixels: Float32Array, count: number): Promise<BatchOutput> {
    if (this.disposed)
      throw new ResnetBatchError('ENGINE_DISPOSED', `engine ${this.name} was disposed; create a new one`);
    checkBatch(this, pixels, count, this.inputSize);
    return {
      embeddings: new Float32Array(count * this.embeddingSize),
      probabilities: new Float32Array(count * this.classCount),
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** Labels of the null engine's (absent) classifier: 'null_0' .. 'null_999'. */
export function nullLabels(classCount: number = resnet50.classCount): string[] {
  return Array.from({ length: classCount }, (_, index) => `null_${index}`);
}
