import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Measure 6: bench/producer-memory.ts as a child process (it enqueues a synthetic listing through
 * the real select -> shard -> enqueue path into Redis, or submits a Parquet URL list through the
 * whole of submit), with its RSS sampled here from /proc every 100 ms and its progress lines read,
 * so RSS can be compared at 10% and 100% of the listing.
 */
export interface ProducerMemory {
  /** What was listed: the synthetic listing, or a Parquet list of `objects` rows. */
  source?: 'synthetic' | 'parquet';
  objects: number;
  images: number;
  seconds: number;
  peakRssMb: number;
  /** RSS when about 10% of the images were enqueued, and when all were (before the script's cleanup). */
  rssAt10PercentMb: number;
  rssAt100PercentMb: number;
  /**
   * RSS at 100% / RSS at 10%: 1.0 is perfectly flat; memory that grew with the listing would
   * approach 10. The peak is reported apart: without --expose-gc it includes garbage V8 has not
   * collected yet, so it moves by tens of MB from run to run.
   */
  growth: number;
}

const script = fileURLToPath(new URL('./producer-memory.ts', import.meta.url));

/**
 * `parquetList`: a Parquet list of `objects` rows, every one an image URL, submitted as a user
 * would; without it, the synthetic listing of `objects` objects (three in four images).
 */
export async function measureProducerMemory(
  redisUrl: string,
  objects: number,
  parquetList?: string,
): Promise<ProducerMemory> {
  const expectedImages = parquetList === undefined ? Math.ceil(objects * 0.75) : objects;
  const args = parquetList === undefined ? [String(objects)] : ['parquet', parquetList];
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = performance.now();
  let output = '';
  let peakRss = 0;
  let lastRss = 0;
  let rssAt10: number | undefined;
  let rssAtEnd: number | undefined;
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const match of output.matchAll(/^(\d+) images, rss/gm)) {
      if (rssAt10 === undefined && Number(match[1]) >= expectedImages * 0.1) rssAt10 = lastRss;
    }
    if (rssAtEnd === undefined && / objects -> \d+ images in /.test(output)) rssAtEnd = lastRss;
  });
  const samples: Array<{ at: number; rss: number }> = [];
  const sampler = setInterval(() => {
    void readFile(`/proc/${child.pid}/status`, 'utf8')
      .then((status) => {
        const kilobytes = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        if (kilobytes === undefined) return; // exiting: the last real sample stands
        lastRss = Number(kilobytes) / 1024;
        peakRss = Math.max(peakRss, lastRss);
        samples.push({ at: performance.now(), rss: lastRss });
      })
      .catch(() => undefined);
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`producer-memory.ts exited ${code}:\n${output}`);
  const images = Number(/-> (\d+) images in/.exec(output)?.[1] ?? NaN);
  // Too few objects for a progress line at 10%: enqueueing runs at a steady rate, so take the
  // sample at 10% of the time instead.
  const tenthOfTime = started + (performance.now() - started) * 0.1;
  const at10 = rssAt10 ?? samples.find((sample) => sample.at >= tenthOfTime)?.rss ?? NaN;
  return {
    source: parquetList === undefined ? 'synthetic' : 'parquet',
    objects,
    images,
    seconds: (performance.now() - started) / 1000,
    peakRssMb: peakRss,
    rssAt10PercentMb: at10,
    rssAt100PercentMb: rssAtEnd ?? lastRss,
    growth: (rssAtEnd ?? lastRss) / at10,
  };
}
