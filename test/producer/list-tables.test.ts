// Tables of images (CSV and Parquet URL lists) and S3 Inventory reports as inputs, read by the
// real listing (producer/list-inputs.ts). Parquet files are written by DuckDB, inventories are
// made in a real S3-protocol server the way AWS lays them out.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type InputListing, type ListedImage, openListing, type SkippedInput } from '../../producer/list-inputs.ts';
import { ConfigError } from '../../shared/errors.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import type { StorageConfig } from '../../shared/storage/storage-config.ts';
import { copyQueryTo } from '../harness/duckdb-copy.ts';
import { newBucket, s3StorageConfig, useS3 } from '../harness/s3-server.ts';
import { useTempDir } from '../harness/temp-dir.ts';
import { uniqueName } from '../harness/unique-name.ts';

const dir = useTempDir('producer-tables-');
async function listAll(
  input: string,
  options: { urlColumn?: string; config?: StorageConfig } = {},
): Promise<{ listing: InputListing; images: ListedImage[]; skipped: SkippedInput[] }> {
  const skipped: SkippedInput[] = [];
  const listing = await openListing(input, {
    openStore: (uri) => (options.config === undefined ? openStore(uri) : openStore(uri, options.config)),
    onSkip: (entry) => skipped.push(entry),
    ...(options.urlColumn === undefined ? {} : { urlColumn: options.urlColumn }),
  });
  const images: ListedImage[] = [];
  try {
    for await (const page of listing.pages) images.push(...page);
  } finally {
    await listing.close();
  }
  return { listing, images, skipped };
}

describe('CSV lists', () => {
  test('a url column lists each row once, and every other column is carried as text', async () => {
    const csv = join(dir.path, 'urls.csv');
    await writeFile(
      csv,
      [
        'url,caption,source_id',
        'https://img.example/a.jpg,"a cat, asleep",007',
        'https://img.example/b?id=2,"a ""quoted"" dog\non two lines",8',
        ',no url here,9',
        'https://img.example/a.jpg,the same url again,10',
      ].join('\r\n'),
    );
    const { listing, images, skipped } = await listAll(csv);
    assert.deepEqual(listing.carriedColumns, [
      { name: 'caption', type: 'string' },
      { name: 'source_id', type: 'string' },
    ]);
    assert.deepEqual(
      images.map((image) => [image.uri, image.size, image.fields]),
      [
        ['https://img.example/a.jpg', -1, { caption: 'a cat, asleep', source_id: '007' }],
        ['https://img.example/b?id=2', -1, { caption: 'a "quoted" dog\non two lines', source_id: '8' }],
      ],
    );
    assert.deepEqual(
      skipped.map((entry) => [entry.reason, entry.where.slice(csv.length + 'file://'.length)]),
      [
        ['invalid-entry', ':5'],
        ['duplicate', ':6'],
      ],
    );
    assert.match(skipped[0]?.detail ?? '', /no "url" string field/);
    assert.deepEqual(listing.inputRoots, ['https://img.example/']);
  });

  test('--url-column names another column; size and etag columns are listing facts', async () => {
    const csv = join(dir.path, 'named.csv');
    await writeFile(csv, 'image_link,size,etag,label\nhttps://a.example/x.png,1234,abc,cat\n');
    const { images } = await listAll(csv, { urlColumn: 'image_link' });
    assert.deepEqual(images, [{ uri: 'https://a.example/x.png', size: 1234, etag: 'abc', fields: { label: 'cat' } }]);
  });

  test('a list without the url column is refused, naming the columns it has', async () => {
    const csv = join(dir.path, 'nourl.csv');
    await writeFile(csv, 'link,caption\nhttps://a.example/x.png,cat\n');
    await assert.rejects(
      listAll(csv),
      (error: unknown) =>
        error instanceof ConfigError &&
        /no 'url' or 'uri' column \(it has columns 'link', 'caption'\)/.test(error.message),
    );
    await assert.rejects(listAll(csv, { urlColumn: 'href' }), /no column 'href'.*fix --url-column/);
  });

  test('a file that is not valid CSV is refused with the line to fix', async () => {
    const csv = join(dir.path, 'broken.csv');
    await writeFile(csv, 'url,caption\nhttps://a.example/1.png,one\nhttps://a.example/2.png,two,extra\n');
    await assert.rejects(
      listAll(csv),
      (error: unknown) => error instanceof ConfigError && /not valid CSV at line 3/.test(error.message),
    );
  });
});

describe('Parquet lists', () => {
  test('rows are read row group by row group, with typed columns carried with their types', async () => {
    const parquet = join(dir.path, 'urls.parquet');
    await copyQueryTo(
      `SELECT 'https://img.example/' || i || '.jpg' AS url, 'caption ' || i AS caption, i AS n, i % 2 = 0 AS even,
              i / 4 AS score, 'x'::BLOB AS thumbnail
       FROM range(2500) t(i)`,
      parquet,
      'FORMAT parquet, ROW_GROUP_SIZE 1000',
    );
    const { listing, images } = await listAll(parquet);
    assert.equal(images.length, 2500);
    assert.deepEqual(images[1234], {
      uri: 'https://img.example/1234.jpg',
      size: -1,
      etag: '',
      fields: { caption: 'caption 1234', n: 1234, even: true, score: 308.5 },
    });
    assert.deepEqual(listing.carriedColumns, [
      { name: 'caption', type: 'string' },
      { name: 'n', type: 'int64' },
      { name: 'even', type: 'bool' },
      { name: 'score', type: 'float64' },
    ]);
  });

  test('a file that is not Parquet is refused', async () => {
    const fake = join(dir.path, 'fake.parquet');
    await writeFile(fake, 'url\nhttps://a.example/x.png\n');
    await assert.rejects(
      listAll(fake),
      (error: unknown) => error instanceof ConfigError && /not a readable Parquet/.test(error.message),
    );
  });
});

describe('lists and inventories in S3', () => {
  const s3 = useS3();
  let config: StorageConfig;
  before(async () => {
    config = s3StorageConfig(s3);
  });
  test('a Parquet list in S3 is read like a local one', async () => {
    const bucket = await newBucket(s3, 'lists');
    const local = join(dir.path, 's3-list.parquet');
    await copyQueryTo(
      `SELECT 's3://${bucket}/photos/' || i || '.jpg' AS uri FROM range(30) t(i)`,
      local,
      'FORMAT parquet',
    );
    await openStore(`s3://${bucket}/lists/a.parquet`, config).write(
      `s3://${bucket}/lists/a.parquet`,
      await readFile(local),
    );
    const { listing, images } = await listAll(`s3://${bucket}/lists/a.parquet`, { config });
    assert.equal(images.length, 30);
    assert.deepEqual(listing.inputRoots, [`s3://${bucket}/photos/`]);
  });

  /** An S3 Inventory report as AWS writes it: data files under data/, a manifest.json naming them. */
  async function writeInventory(
    format: 'CSV' | 'Parquet',
    source: string,
    destination: string,
    files: Array<{ key: string; body: Buffer }>,
    fileSchema: string,
  ): Promise<string> {
    const store = openStore(`s3://${destination}/`, config);
    for (const file of files) await store.write(`s3://${destination}/${file.key}`, file.body);
    const manifestUri = `s3://${destination}/inventory/${source}/daily/2026-12-01T01-00Z/manifest.json`;
    await store.write(
      manifestUri,
      JSON.stringify({
        sourceBucket: source,
        destinationBucket: `arn:aws:s3:::${destination}`,
        version: '2016-11-30',
        creationTimestamp: '1764550800000',
        fileFormat: format,
        fileSchema,
        files: files.map((file) => ({ key: file.key, size: file.body.length, MD5checksum: 'x' })),
      }),
    );
    return manifestUri;
  }

  test('a CSV inventory lists the current objects it names, keys decoded, with sizes and ETags', async () => {
    const source = uniqueName('src');
    const destination = await newBucket(s3, 'inv');
    const row = (key: string, size: number, latest: string, deleted: string) =>
      `"${source}","${key}","${latest}","${deleted}","${size}","2026-11-30T10:00:00.000Z","e${size}"`;
    const part = (rows: string[]) => gzipSync(`${rows.join('\n')}\n`);
    const manifest = await writeInventory(
      'CSV',
      source,
      destination,
      [
        {
          key: `inventory/${source}/daily/data/part-1.csv.gz`,
          body: part([row('photos/a+cat.jpg', 100, 'true', 'false'), row('photos/old.jpg', 5, 'false', 'false')]),
        },
        {
          key: `inventory/${source}/daily/data/part-2.csv.gz`,
          body: part([
            row('photos/caf%C3%A9%2B1.png', 200, 'true', 'false'),
            row('photos/gone.jpg', 0, 'true', 'true'),
            row('photos/', 0, 'true', 'false'),
          ]),
        },
      ],
      'Bucket, Key, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag',
    );
    const { listing, images } = await listAll(manifest, { config });
    assert.deepEqual(images, [
      { uri: `s3://${source}/photos/a cat.jpg`, size: 100, etag: 'e100' },
      { uri: `s3://${source}/photos/café+1.png`, size: 200, etag: 'e200' },
    ]);
    assert.deepEqual(listing.inputRoots, [`s3://${source}/photos/`]);
    assert.equal(listing.input.format, 's3-inventory');
  });

  test('a Parquet inventory is read the same way', async () => {
    const source = uniqueName('src');
    const destination = await newBucket(s3, 'inv');
    const local = join(dir.path, 'inventory.parquet');
    await copyQueryTo(
      `SELECT '${source}' AS bucket, 'img/' || i || '.jpg' AS key, 1000 + i AS size, 'tag' || i AS e_tag, true AS is_latest
       FROM range(5) t(i)`,
      local,
      'FORMAT parquet',
    );
    const manifest = await writeInventory(
      'Parquet',
      source,
      destination,
      [{ key: `inventory/${source}/daily/data/a.parquet`, body: await readFile(local) }],
      'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; optional binary e_tag (STRING); optional boolean is_latest; }',
    );
    const { images } = await listAll(manifest, { config });
    assert.deepEqual(images[4], { uri: `s3://${source}/img/4.jpg`, size: 1004, etag: 'tag4' });
    assert.equal(images.length, 5);
  });

  test('an ORC inventory and a manifest.json that is no inventory are refused with what to do', async () => {
    const destination = await newBucket(s3, 'inv');
    const orc = await writeInventory('CSV', 'src-bucket', destination, [{ key: 'x.orc', body: Buffer.from('') }], 'x');
    const store = openStore(orc, config);
    await store.write(orc, JSON.stringify({ ...JSON.parse((await store.read(orc)).toString()), fileFormat: 'ORC' }));
    await assert.rejects(
      listAll(orc, { config }),
      /in ORC, which is not read; configure the inventory with the CSV or Parquet/,
    );
    const other = `s3://${destination}/app/manifest.json`;
    await store.write(other, JSON.stringify({ name: 'my app' }));
    await assert.rejects(listAll(other, { config }), /is not an S3 Inventory manifest/);
  });
});
