// No source function over 60 lines (issue 18): a longer one is orchestration that should read as
// named steps. Each source file is parsed with the TypeScript compiler; a function counts from the
// line it starts on (its first keyword or name, not its doc comment) to the line of its closing
// brace, so a 60-line function passes. A nested function counts on its own and as lines of its
// parent. The few left longer are listed below, each with its reason.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAX_LINES = 60;

/** The folders `npm run lint` checks: the shipped source, without tests, bench or infra. */
const SOURCE_FOLDERS = ['bin', 'ops', 'schedule', 'producer', 'worker', 'model', 'shared'];

/** Functions allowed past MAX_LINES, as `file name` (see functionName), each with why. */
const ALLOWED: Readonly<Record<string, string>> = {};

const root = fileURLToPath(new URL('../..', import.meta.url));

interface MeasuredFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

/** The TypeScript files git knows in SOURCE_FOLDERS, new ones not yet added included. */
function sourceFiles(): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...SOURCE_FOLDERS],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  return [...new Set(listed.split('\n'))].filter((file) => file.endsWith('.ts') && existsSync(join(root, file)));
}

/** Every function-like node with a body in `text` (the source of `file`), nested ones included. */
function measure(file: string, text: string): MeasuredFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line + 1;
  const found: MeasuredFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const line = lineOf(node.getStart(source));
      found.push({ file, line, name: functionName(node), lines: lineOf(node.getEnd()) - line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * How a reader finds the function: `Class.method` for members, the declared name, or the name of
 * the variable or property an arrow or function expression is assigned to; else `(anonymous)`.
 */
function functionName(node: ts.Node): string {
  const own = (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isAccessor(node)) && node.name;
  const member = ts.isConstructorDeclaration(node) ? 'constructor' : own ? own.getText() : undefined;
  if (member !== undefined) {
    const owner = ts.isClassLike(node.parent) ? node.parent.name?.getText() : undefined;
    return owner ? `${owner}.${member}` : member;
  }
  const holder = node.parent;
  if ((ts.isVariableDeclaration(holder) || ts.isPropertyAssignment(holder)) && holder.initializer === node) {
    return holder.name.getText();
  }
  if (ts.isPropertyDeclaration(holder) && holder.initializer === node) return holder.name.getText();
  return '(anonymous)';
}

const measured = sourceFiles().flatMap((file) => measure(file, readFileSync(join(root, file), 'utf8')));
const key = (fn: MeasuredFunction) => `${fn.file} ${fn.name}`;
const tooLong = measured.filter((fn) => fn.lines > MAX_LINES);

/** `lines` lines of source: `open`, statements, then the closing line. */
const body = (open: string, lines: number, close = '}') =>
  [open, ...Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`), close].join('\n');

describe('function length', () => {
  test('a function counts from its first line to its closing brace, nested ones in their parent too', () => {
    const text = [
      '/** A doc comment is not counted. */',
      body('export function sixty(): void {', 60),
      'class Service {',
      body('  method(): void {', 40).replace('const v0 = 0;', body('const inner = () => {', 30, '};')),
      '}',
      body('const handler = async () => {', 61, '};'),
    ].join('\n');
    const found = measure('example.ts', text).map(({ name, line, lines }) => `${line} ${name} ${lines}`);
    assert.deepEqual(found, ['2 sixty 60', '63 Service.method 69', '64 inner 30', '133 handler 61']);
  });

  test('the source files are found and parsed', () => {
    assert.ok(measured.length > 500, `only ${measured.length} functions measured; is git ls-files answering?`);
  });

  test(`no source function is longer than ${MAX_LINES} lines, except the allowed ones`, () => {
    const offenders = tooLong
      .filter((fn) => !Object.hasOwn(ALLOWED, key(fn)))
      .map((fn) => `${fn.file}:${fn.line} ${fn.name}, ${fn.lines} lines`);
    if (offenders.length > 0) {
      assert.fail(
        `functions over ${MAX_LINES} lines; split each into named steps, or add it to ALLOWED with the reason:\n  ${offenders.join('\n  ')}`,
      );
    }
  });

  test('every allowed function is still longer than the limit (else its entry goes)', () => {
    const stale = Object.keys(ALLOWED).filter((allowed) => !tooLong.some((fn) => key(fn) === allowed));
    assert.deepEqual(stale, [], `remove these entries from ALLOWED: ${stale.join('; ')}`);
  });
});
