import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { cell, table } from './markdown.ts';

/**
 * README's environment table, read from the doc comments of the configuration schemas: each
 * field of a `z.object({...})` named like an environment variable, with the comment above it
 * (which says its unit, default and when to change it). A field without a comment of its own
 * shares the row of the field before it (DASHBOARD_PASSWORD with DASHBOARD_USER). A comment that
 * opens with the variables' names and a colon ("S3_ENDPOINT, else AWS_ENDPOINT_URL: ...") gives
 * the first column; otherwise the names do.
 */
/** The folders whose schemas are searched (the source, not tests or bench). */
const SOURCE_FOLDERS = ['bin', 'ops', 'schedule', 'producer', 'worker', 'model', 'shared'];

/**
 * The files that declare environment schemas: a `z.object({` with a field named like a variable.
 * Found rather than listed, so that a new schema cannot be left out of the table. Shallower
 * files first (shared/config.ts, then the stores'), so the table reads from general to specific.
 */
export function envSchemaFiles(root: URL): string[] {
  const files = SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(new URL(`${folder}/`, root), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `${folder}/${file}`),
  );
  const depth = (file: string) => file.split('/').length;
  return files
    .filter((file) => {
      const source = readFileSync(new URL(file, root), 'utf8');
      return source.includes('z.object(') && /^\s+[A-Z][A-Z0-9_]{2,}: /m.test(source);
    })
    .sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

interface EnvRow {
  names: string[];
  doc: string;
}

const VARIABLE = /^[A-Z][A-Z0-9_]*$/;

export function envReference(root: URL, files: readonly string[]): string {
  const rows = files.flatMap((file) => schemaRows(file, readFileSync(new URL(file, root), 'utf8')));
  return table(
    ['variable', 'meaning, default, when to change it'],
    rows.map((row) => {
      const { label, text } = splitLabel(row);
      return [label, cell(text)];
    }),
  );
}

function schemaRows(file: string, source: string): EnvRow[] {
  const rows: EnvRow[] = [];
  const visit = (node: ts.Node): void => {
    if (isZodObjectCall(node)) {
      const [fields] = node.arguments;
      if (fields && ts.isObjectLiteralExpression(fields)) {
        for (const field of fields.properties) addField(file, field, rows);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true));
  return rows;
}

function isZodObjectCall(node: ts.Node): node is ts.CallExpression {
  return (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    node.expression.expression.getText() === 'z' &&
    node.expression.name.text === 'object'
  );
}

function addField(file: string, field: ts.ObjectLiteralElementLike, rows: EnvRow[]): void {
  const name = field.name && ts.isIdentifier(field.name) ? field.name.text : undefined;
  if (name === undefined || !VARIABLE.test(name)) return;
  const doc = ts
    .getJSDocCommentsAndTags(field)
    .filter(ts.isJSDoc)
    .map((jsDoc) => ts.getTextOfJSDocComment(jsDoc.comment) ?? '')
    .join(' ')
    .trim();
  if (doc !== '') rows.push({ names: [name], doc });
  else if (rows.length > 0) rows[rows.length - 1]!.names.push(name);
  else throw new Error(`${file}: ${name} has no doc comment; say its unit, default and when to change it`);
}

/** `A / B: text` or `A, else B: text` -> the label with the names in code spans, and the text. */
function splitLabel(row: EnvRow): { label: string; text: string } {
  const colon = row.doc.indexOf(': ');
  const head = colon > 0 ? row.doc.slice(0, colon) : '';
  const named = row.names.every((name) => head.includes(name)) && head.startsWith(row.names[0]!);
  if (!named) return { label: row.names.map((name) => `\`${name}\``).join(', '), text: row.doc };
  const label = head.replace(/[A-Z][A-Z0-9_]+/g, (name) => (row.names.includes(name) ? `\`${name}\`` : name));
  return { label, text: row.doc.slice(colon + 2) };
}
