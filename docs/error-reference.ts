import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { cell, table } from './markdown.ts';

/** One row of README's error-code table. */
export interface ErrorCodeDoc {
  code: string;
  meaning: string;
  retryable: boolean;
  fix: string;
}

/**
 * README's error-code table. Its source is `ERROR_CODES` in shared/errors.ts (code -> its
 * meaning, whether a retry helps, the fix) when that module exports it; until then, the codes
 * shared/errors.ts declares in code: IMAGE_ERROR_CODES with the comment beside each, and each
 * error class's code with its doc comment.
 */
export async function errorReference(root: URL): Promise<string> {
  const errors: Record<string, unknown> = await import(new URL('shared/errors.ts', root).href);
  const codes = isErrorCodeTable(errors.ERROR_CODES)
    ? Object.entries(errors.ERROR_CODES).map(([code, entry]) => ({
        code,
        meaning: String(entry.meaning ?? ''),
        retryable: entry.retryable === true,
        fix: String(entry.fix ?? ''),
      }))
    : declaredCodes(readFileSync(new URL('shared/errors.ts', root), 'utf8'));
  return table(
    ['code', 'meaning', 'retry helps', 'fix'],
    codes.map((entry) => [`\`${entry.code}\``, cell(entry.meaning), entry.retryable ? 'yes' : 'no', cell(entry.fix)]),
  );
}

/** The shape ERROR_CODES is expected in; read loosely, so that extra fields do not matter. */
type ErrorCodeTable = Record<string, { meaning?: unknown; retryable?: unknown; fix?: unknown }>;

function isErrorCodeTable(value: unknown): value is ErrorCodeTable {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

/** The codes shared/errors.ts declares today, read from its source (its comments are not data). */
function declaredCodes(source: string): ErrorCodeDoc[] {
  const file = ts.createSourceFile('errors.ts', source, ts.ScriptTarget.Latest, true);
  const codes: ErrorCodeDoc[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node)) codes.push(...classCode(node));
    if (ts.isVariableDeclaration(node) && node.name.getText() === 'IMAGE_ERROR_CODES') {
      codes.push(...imageCodes(node, source));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  // An image code and the class that raises it (NOT_FOUND, TOO_LARGE...): the first says it.
  return codes.filter((entry, index) => codes.findIndex((other) => other.code === entry.code) === index);
}

function imageCodes(node: ts.VariableDeclaration, source: string): ErrorCodeDoc[] {
  const array = node.initializer && ts.isAsExpression(node.initializer) ? node.initializer.expression : undefined;
  if (!array || !ts.isArrayLiteralExpression(array)) return [];
  return array.elements.filter(ts.isStringLiteral).map((element) => {
    const comment = ts.getTrailingCommentRanges(source, element.getEnd() + 1)?.[0];
    const meaning = comment ? source.slice(comment.pos + 2, comment.end).trim() : '';
    return { code: element.text, meaning: `an error row: ${meaning}`, retryable: false, fix: '' };
  });
}

/** `class X extends ResnetBatchError { ... super('CODE', message, { retryable: ... }) }`. */
function classCode(node: ts.ClassDeclaration): ErrorCodeDoc[] {
  let found: ErrorCodeDoc[] = [];
  const doc = ts
    .getJSDocCommentsAndTags(node)
    .filter(ts.isJSDoc)
    .map((jsDoc) => ts.getTextOfJSDocComment(jsDoc.comment) ?? '')
    .join(' ');
  const visit = (child: ts.Node): void => {
    if (ts.isCallExpression(child) && child.expression.kind === ts.SyntaxKind.SuperKeyword) {
      const [code, , options] = child.arguments;
      if (code && ts.isStringLiteral(code)) {
        found = [{ code: code.text, meaning: doc, retryable: retryableIn(options), fix: '' }];
      }
    }
    ts.forEachChild(child, visit);
  };
  visit(node);
  return found;
}

/** `{ retryable: true }`, `{ retryable: options.retryable ?? true }`: the value, or the false default. */
function retryableIn(options: ts.Expression | undefined): boolean {
  if (!options || !ts.isObjectLiteralExpression(options)) return false;
  const property = options.properties.find(
    (element): element is ts.PropertyAssignment =>
      ts.isPropertyAssignment(element) && element.name.getText() === 'retryable',
  );
  const value = property?.initializer;
  const literal = value && ts.isBinaryExpression(value) ? value.right : value;
  return literal?.kind === ts.SyntaxKind.TrueKeyword;
}
