/** One entry of an image's top-k: ImageNet class index, its label, and the softmax score. */
export interface RankedLabel {
  label: string;
  index: number;
  score: number;
}

/**
 * The k most probable classes of row `row` of a row-major probability matrix, best first.
 * Ties keep the lower class index first, so results are stable across engines and batch positions.
 * A partial selection (O(classes * k)) beats sorting 1000 scores for the usual k <= 10.
 */
export function rankLabels(
  probabilities: Float32Array,
  row: number,
  classCount: number,
  labels: readonly string[],
  k: number,
): RankedLabel[] {
  const start = row * classCount;
  const top: RankedLabel[] = [];
  for (let index = 0; index < classCount; index += 1) {
    const score = probabilities[start + index] ?? 0;
    if (top.length === k && score <= (top[k - 1]?.score ?? -Infinity)) continue;
    let at = top.length;
    while (at > 0 && score > (top[at - 1]?.score ?? -Infinity)) at -= 1;
    top.splice(at, 0, { label: labels[index] ?? `class_${index}`, index, score });
    if (top.length > k) top.pop();
  }
  return top;
}
