/**
 * mulberry32: a small deterministic generator of numbers in [0, 1). Whatever is made from it (the
 * default calibration images, the bench's images, the noise of the noise-floor bench) is the same
 * on every host and every run, without shipping the bytes.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
