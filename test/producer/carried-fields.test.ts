import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { CarriedColumnsBuilder, carriedFields, lineFieldsProblem } from '../../producer/carried-fields.ts';
import { openListing } from '../../producer/list-inputs.ts';
import { ConfigError } from '../../shared/errors.ts';
import { MAX_CARRIED_FIELDS, MAX_CARRIED_VALUE_CHARS } from '../../shared/queue/job-payload.ts';
import { openStore } from '../../shared/storage/open-store.ts';
import { useTempDir } from '../harness/temp-dir.ts';

describe('the type a run gives a carried field', () => {
  const typeOf = (...values: unknown[]) => {
    const builder = new CarriedColumnsBuilder();
    values.forEach((value, line) => {
      builder.add({ field: value }, `line ${line + 1}`);
    });
    return builder.columns()[0]?.type;
  };

  test('integers are int64, numbers float64, booleans bool, text string; nulls do not count', () => {
    assert.equal(typeOf(1, 2, null), 'int64');
    assert.equal(typeOf(1, 2.5), 'float64');
    assert.equal(typeOf(true, false, null), 'bool');
    assert.equal(typeOf('a', null), 'string');
    assert.equal(typeOf(null, null), 'string');
  });

  test('mixed types and nested objects become string columns holding JSON text', () => {
    assert.equal(typeOf(1, 'two'), 'string');
    assert.equal(typeOf({ a: 1 }), 'string');
    const columns = [{ name: 'field', type: 'string' as const }];
    assert.deepEqual(carriedFields({ field: { a: [1, 2] } }, columns), { field: '{"a":[1,2]}' });
    assert.deepEqual(carriedFields({ field: 3 }, columns), { field: '3' });
  });

  test('columns keep the order in which the fields first appear, and a line without a field leaves it out', () => {
    const builder = new CarriedColumnsBuilder();
    builder.add({ caption: 'x', id: 1 }, 'line 1');
    builder.add({ label: true }, 'line 2');
    const columns = builder.columns();
    assert.deepEqual(
      columns.map((column) => column.name),
      ['caption', 'id', 'label'],
    );
    assert.deepEqual(carriedFields({ label: false }, columns), { label: false });
  });
});

describe('the limits on carried fields', () => {
  test("a field named like one of the output's own columns is refused, naming the field and the line", () => {
    for (const name of ['uri', 'error', 'top_labels', 'status', 'embedding_row']) {
      assert.throws(
        () => new CarriedColumnsBuilder().add({ [name]: 'x' }, 'list.jsonl:7'),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith(`list.jsonl:7: field '${name}'`),
        name,
      );
    }
  });

  test(`more than ${MAX_CARRIED_FIELDS} distinct fields in an input are refused`, () => {
    const builder = new CarriedColumnsBuilder();
    for (let i = 0; i < MAX_CARRIED_FIELDS; i += 1) builder.add({ [`f${i}`]: i }, `line ${i}`);
    assert.throws(
      () => builder.add({ extra: 1 }, 'line 99'),
      /field 'extra' is one more than the 32 distinct fields a run carries/,
    );
  });

  test('a line with too many fields or too long a value has a problem that says which', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_CARRIED_FIELDS + 1 }, (_, i) => [`f${i}`, i]));
    assert.match(lineFieldsProblem(many) ?? '', /has 33 fields/);
    assert.match(
      lineFieldsProblem({ caption: 'x'.repeat(MAX_CARRIED_VALUE_CHARS + 1) }) ?? '',
      /field 'caption' holds 8193 characters/,
    );
    assert.equal(lineFieldsProblem({ caption: 'a cat' }), null);
  });
});

describe('a .jsonl manifest with extra fields', () => {
  const dir = useTempDir('carried-');
  before(async () => {
    await writeFile(join(dir.path, 'a.jpg'), 'x');
    await writeFile(join(dir.path, 'b.jpg'), 'x');
  });

  test('lists each image with its fields typed for the run, and the run carried columns', async () => {
    const manifest = join(dir.path, 'list.jsonl');
    await writeFile(manifest, `{"uri":"a.jpg","caption":"a cat","id":1}\n{"uri":"b.jpg","id":2.5,"size":1}\n`);
    const listing = await openListing(manifest, { openStore: (uri) => openStore(uri) });
    try {
      assert.deepEqual(listing.carriedColumns, [
        { name: 'caption', type: 'string' },
        { name: 'id', type: 'float64' },
      ]);
      const images = [];
      for await (const page of listing.pages) images.push(...page);
      assert.deepEqual(
        images.map((image) => image.fields),
        [{ caption: 'a cat', id: 1 }, { id: 2.5 }],
      );
    } finally {
      await listing.close();
    }
  });

  test('is refused before anything is enqueued when a field clashes with an output column', async () => {
    const manifest = join(dir.path, 'clash.jsonl');
    await writeFile(manifest, `{"uri":"a.jpg","caption":"ok"}\n{"uri":"b.jpg","etag":"e","model":"mine"}\n`);
    await assert.rejects(
      openListing(manifest, { openStore: (uri) => openStore(uri) }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /clash\.jsonl:2: field 'model' has the name of one of the output's own columns/.test(error.message),
    );
  });
});
