// `resnet-batch report` on a real run: the fixture images through `run` (onnx engine, shards of
// 3) against a test Redis that outlives the command, then the page opened in Debian's headless
// Chromium through playwright-core.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Request } from 'playwright-core';
import { renderReport } from '../../ops/report/render-report.ts';
import type { ReportData } from '../../ops/report/report-data.ts';
import { useRedis } from '../harness/redis-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(repoRoot, 'test/fixtures/images');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const noChromium = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing; install it with: apt-get install -y chromium`;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/resnet-batch.js'), ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('report command on a real run', { timeout: 420_000 }, () => {
  const redis = useRedis();
  const dir = useTempDir('resnet-batch-report-');
  let env: Record<string, string>;
  let run: string;
  let html: string;
  let reportFile: string;

  before(async () => {
    env = { REDIS_URL: redis.url, QUEUE_PREFIX: uniqueName('report'), LOG_LEVEL: 'warn' };
    run = uniqueName('run');
    const ran = await runCli(
      [
        'run',
        fixtures,
        '--output',
        join(dir.path, 'out'),
        '--run',
        run,
        '--workers',
        '1',
        '--engine',
        'onnx',
        '--shard-size',
        '3',
      ],
      env,
      dir.path,
    );
    // 2: every shard completed, but the two fixtures that do not decode are error rows.
    assert.equal(ran.code, 2, `run exited ${ran.code}:\n${ran.stderr}`);
    const report = await runCli(['report', run], env, dir.path);
    assert.equal(report.code, 0, `report exited ${report.code}:\n${report.stderr}`);
    reportFile = report.stdout.trim();
    html = await readFile(reportFile, 'utf8');
  });

  test('writes report-<run>.html in the working directory by default', () => {
    assert.equal(reportFile, join(dir.path, `report-${run}.html`));
  });

  test('the HTML holds no script and no reference to anything outside it', () => {
    assert.doesNotMatch(html, /<script|<link|<iframe|@import|url\(/i);
    assert.doesNotMatch(html, /(src|href)="(?!data:)/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:/);
  });

  test('the totals come from the manifest: 11 images, 9 ok, 2 errors, 1 skipped, 4 shards', () => {
    assert.match(html, /Totals <span class="muted">\(from the manifest\)/);
    const card = (name: string) =>
      new RegExp(`<div class="value">([^<]*)</div><div class="name">${name}</div>`).exec(html)?.[1];
    assert.deepEqual(
      [card('images'), card('ok'), card('errors'), card('skipped'), card('shards done')],
      ['11', '9', '2', '1', '4 / 4'],
    );
  });

  describe('in headless Chromium', { skip: noChromium }, () => {
    let browser: Browser;
    let page: Page;
    const requests: string[] = [];

    before(async () => {
      const { chromium } = await import('playwright-core');
      // launch() gives every browser a fresh temporary profile (user-data-dir) and removes it on close.
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      page.on('request', (request: Request) => requests.push(request.url()));
      await page.goto(`file://${reportFile}`, { waitUntil: 'load' });
    });

    after(async () => {
      await browser?.close();
    });

    test('the screenshot of the whole page is a non-trivial PNG', async () => {
      const shot = join(dir.path, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      const bytes = await readFile(shot);
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const [width, height] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
      assert.ok(width >= 1000 && height >= 1500, `screenshot is ${width}x${height}`);
      assert.ok((await stat(shot)).size > 50_000, 'a page of charts and photos compresses to more than 50 kB');
    });

    test('the page made no network request other than the file itself', () => {
      assert.deepEqual(requests, [`file://${reportFile}`]);
    });

    test('the throughput chart draws bars that add up to every processed image', async () => {
      const titles = await page.$$eval('#throughput-chart rect.bar', (bars) =>
        bars.map((bar) => [bar.getBoundingClientRect().height, bar.textContent ?? '']),
      );
      assert.ok(titles.length > 0);
      assert.ok(titles.some(([height]) => Number(height) > 0));
      const images = titles.reduce((sum, [, title]) => sum + Number(/: (\d+) images/.exec(String(title))?.[1]), 0);
      assert.equal(images, 11);
    });

    test('the label chart lists Egyptian_cat (chelsea) and espresso (coffee) with drawn bars', async () => {
      const rows = await page.$$eval('#labels-chart g.row', (groups) =>
        groups.map((g) => [
          g.querySelector('text.label')?.textContent,
          g.querySelector('rect.bar')?.getBoundingClientRect().width ?? 0,
        ]),
      );
      const labels = rows.map(([label]) => label);
      assert.ok(labels.includes('Egyptian_cat') && labels.includes('espresso'), `labels: ${labels.join(', ')}`);
      assert.ok(rows.every(([, width]) => Number(width) > 0));
    });

    test('the errors section lists DECODE_FAILED for the two undecodable fixtures', async () => {
      const rows = await page.$$eval('#errors tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)),
      );
      assert.deepEqual(rows, [['DECODE_FAILED', '2']]);
      assert.equal(await page.locator('#errors-chart rect.bar').count(), 1);
    });

    test('the failed files table names both undecodable fixtures, their reason and the errors part of each', async () => {
      const rows = await page.$$eval('#failed-files tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
      assert.equal(rows.length, 2);
      for (const [uri, reason, part] of rows) {
        assert.match(uri ?? '', /^file:\/\/.*\/test\/fixtures\/images\//);
        assert.match(reason ?? '', /^DECODE_FAILED: /);
        assert.match(part ?? '', new RegExp(`/out/${run}/errors/part-\\d{5}\\.parquet$`));
      }
      assert.equal(await page.locator('.badge.failed').count(), 0, 'image errors alone do not make the run red');
    });

    test('every thumbnail decoded in the browser', async () => {
      const widths = await page.$$eval('#samples img', (images) =>
        images.map((img) => (img as HTMLImageElement).naturalWidth),
      );
      assert.equal(widths.length, 9, 'one thumbnail per decodable fixture');
      assert.ok(
        widths.every((width) => width === 96),
        `natural widths: ${widths.join(', ')}`,
      );
    });

    test('a label carrying HTML stays text and runs nothing', async () => {
      const hostile = '<img src=x onerror="document.title=1">';
      const file = join(dir.path, 'hostile.html');
      await writeFile(file, renderReport(hostileReport(hostile)));
      const other = await browser.newPage();
      await other.goto(`file://${file}`);
      assert.equal(await other.locator('img[src="x"]').count(), 0);
      assert.equal(await other.locator('#labels-chart text.label').first().textContent(), `${hostile.slice(0, 29)}…`);
      assert.equal(await other.locator('#samples h3').first().textContent(), `${hostile} (1)`);
      assert.notEqual(await other.title(), '1');
      await other.close();
    });
  });

  test('a run without _manifest.json (still running) takes its totals from the run record', async () => {
    await rm(join(dir.path, 'out', run, '_manifest.json'));
    const out = join(dir.path, 'no-manifest.html');
    const result = await runCli(['report', run, '--out', out], env, dir.path);
    assert.equal(result.code, 0, result.stderr);
    const page = await readFile(out, 'utf8');
    assert.match(page, /Totals <span class="muted">\(from the run record\)/);
    assert.match(page, /<div class="value">9<\/div><div class="name">ok<\/div>/);
  });

  test('report of an unknown run exits 1 and says to check the run id', async () => {
    const result = await runCli(['report', 'no-such-run'], env, dir.path);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /run 'no-such-run' not found.*check the run id and QUEUE_PREFIX/);
  });
});

function hostileReport(label: string): ReportData {
  return {
    run: `"><script>document.title=1</script>`,
    generatedAt: '2025-01-01T00:00:00.000Z',
    totals: {
      source: 'run record',
      state: 'done',
      input: `file:///in/${label}`,
      output: 'file:///out',
      model: 'm',
      engines: ['onnx-cpu'],
      images: { total: 1, ok: 1, error: 0, skipped: 0 },
      shards: { total: 1, done: 1, failed: 0, failedShards: [] },
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:01.000Z',
    },
    rowsRead: 1,
    partsRead: 1,
    throughput: { bucketSeconds: 1, buckets: [{ startMs: Date.parse('2025-01-01T00:00:01.000Z'), images: 1 }] },
    labels: [{ label, count: 1 }],
    errors: [],
    failedShards: [{ shard: 0, reason: label, uris: [`file:///in/${label}`] }],
    finalizeError: label,
    failedFiles: { shown: [{ uri: `file:///in/${label}`, reason: label, part: `file:///out/${label}` }], total: 1 },
    errorsFolder: `file:///out/${label}/errors/`,
    samples: [{ label, count: 1, thumbnails: [] }],
    thumbnailsOmitted: 0,
  };
}
