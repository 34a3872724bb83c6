import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { z } from 'zod';
import { program } from '../../bin/cli-program.ts';
import { scheduleDataSchemaFor } from '../../schedule/schedule-spec.ts';
import { definitionDifferences, runDefinition } from '../../shared/run/run-definition.ts';
import {
  hashOfRunFields,
  optionsOfStored,
  pickRunOptions,
  requestedRunFields,
  runFieldsOfHash,
  runFlagsOf,
  storedOptions,
} from '../../shared/run/run-fields.ts';
import { RUN_COMMANDS, RUN_OPTIONS, type RunCommand, type RunFields } from '../../shared/run/run-options.ts';

/** The long flags a command of bin/cli-program.ts declares. */
function flagsOf(path: string): string[] {
  let command: Command = program;
  for (const name of path.split(' ')) {
    const found = command.commands.find((sub) => sub.name() === name);
    assert.ok(found, `no command ${path}`);
    command = found;
  }
  return command.options.map((option) => option.long ?? '');
}

const longFlag = (syntax: string) => syntax.split(' ')[0] ?? '';

describe('the run-definition flags of submit, run and schedule add', () => {
  test('each command has exactly the flags the run options table gives it', () => {
    for (const command of RUN_COMMANDS) {
      const declared = flagsOf(command);
      for (const spec of Object.values(RUN_OPTIONS)) {
        if (!('flag' in spec)) continue;
        const flag = longFlag(spec.flag.syntax);
        assert.equal(
          declared.includes(flag),
          (spec.takenBy as readonly RunCommand[]).includes(command),
          `${command} ${flag}`,
        );
      }
    }
  });

  test('the three commands share every run-definition flag but --since, which only submit takes', () => {
    const shared = (command: RunCommand) => runFlagsOf(command).map((flag) => longFlag(flag.syntax));
    const everywhere = shared('schedule add').filter((flag) => shared('run').includes(flag));
    assert.deepEqual(shared('schedule add'), everywhere);
    assert.deepEqual(shared('run'), everywhere);
    assert.deepEqual(
      shared('submit').filter((flag) => !everywhere.includes(flag)),
      ['--since'],
    );
    assert.ok(everywhere.includes('--url-column'));
  });
});

describe('a run option added to the table', () => {
  const table = {
    ...RUN_OPTIONS,
    headUri: {
      stored: 'head_uri',
      schema: z.string().min(1),
      default: null,
      optional: true,
      takenBy: RUN_COMMANDS,
      flag: { syntax: '--head-uri <uri>', help: 'a custom head' },
    },
  } as const;
  const fields = {
    input: 'file:///in/',
    output: 'file:///out/',
    model: 'file:///model/',
    precision: 'fp32',
    shardSize: 8,
    normalize: false,
    since: null,
    inputRoots: ['file:///in/'],
    carriedColumns: [],
    urlColumn: null,
    headUri: 's3://heads/h1',
  } as unknown as RunFields;

  test('is a flag of the commands that take it', () => {
    for (const command of RUN_COMMANDS)
      assert.ok(
        runFlagsOf(command, table).some((flag) => flag.syntax === '--head-uri <uri>'),
        command,
      );
  });

  test('reaches the record in Redis and back', () => {
    const hash = hashOfRunFields(fields, table);
    assert.equal(hash.head_uri, 's3://heads/h1');
    assert.equal((runFieldsOfHash(hash, table) as unknown as { headUri: string }).headUri, 's3://heads/h1');
    const { head_uri: _, ...without } = hash;
    assert.equal((runFieldsOfHash(without, table) as unknown as { headUri: null }).headUri, null);
  });

  test('reaches _run.json, and a resubmission with another value is refused naming its flag', () => {
    const stamp = { format_version: 2, created_at: '2026-12-07T00:00:00.000Z' };
    const definition = runDefinition('r1', fields, stamp, table) as unknown as Record<string, unknown>;
    assert.equal(definition.head_uri, 's3://heads/h1');
    const other = runDefinition('r1', { ...fields, headUri: 's3://heads/h2' } as RunFields, stamp, table);
    assert.deepEqual(definitionDifferences(runDefinition('r1', fields, stamp, table), other, table), [
      '--head-uri (recorded "s3://heads/h1", now "s3://heads/h2")',
    ]);
  });

  test('reaches a submit from the command line, the schedule data and the submit of each firing', () => {
    const given = { output: '/out', headUri: 's3://heads/h1', workers: 2 };
    const picked = pickRunOptions({ input: '/in', ...given }, 'run', table) as Record<string, unknown>;
    assert.deepEqual(picked, { input: '/in', output: '/out', headUri: 's3://heads/h1' });
    assert.equal((requestedRunFields(picked, table) as Record<string, unknown>).headUri, 's3://heads/h1');
    const stored = storedOptions({ ...fields, headUri: 's3://heads/h1' }, 'schedule add', table);
    const data = scheduleDataSchemaFor(table).parse({ v: 1, name: 'nightly', incremental: false, ...stored });
    assert.equal((data as Record<string, unknown>).headUri, 's3://heads/h1');
    assert.equal((optionsOfStored(data, 'schedule add', table) as Record<string, unknown>).headUri, 's3://heads/h1');
  });

  test('left unset, is stored nowhere, so old records and schedules stay as they were', () => {
    const unset = { ...fields, headUri: null } as unknown as RunFields;
    assert.equal('head_uri' in hashOfRunFields(unset, table), false);
    assert.equal('headUri' in storedOptions(unset, 'schedule add', table), false);
    assert.deepEqual(hashOfRunFields(unset, table), hashOfRunFields(fields));
  });
});
