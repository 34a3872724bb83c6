import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { program } from '../bin/cli-program.ts';
import { cliReference } from './cli-reference.ts';
import { envReference, envSchemaFiles } from './env-reference.ts';
import { errorReference } from './error-reference.ts';

/**
 * `npm run docs`: rewrites the generated sections of README.md from the code, each between
 * `<!-- generated:NAME ... -->` and `<!-- /generated:NAME -->`; everything outside them is
 * written by hand. `npm run docs -- --check` writes nothing and exits 1 naming each stale
 * section (test/tooling/docs-current.test.ts runs it, so CI fails on a stale README). A path
 * after the flags names another file to check or write (the test's stale copy).
 */
const ROOT = new URL('../', import.meta.url);
const README = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? fileURLToPath(new URL('README.md', ROOT));
const SHOWN = relative(process.cwd(), README);

interface Section {
  name: string;
  /** Where a reader edits what the section says. */
  source: string;
  render(): string | Promise<string>;
}

const ENV_SCHEMAS = envSchemaFiles(ROOT);

const SECTIONS: readonly Section[] = [
  { name: 'cli', source: 'bin/cli-program.ts, bin/exit-codes.ts', render: () => cliReference(program) },
  { name: 'env', source: ENV_SCHEMAS.join(', '), render: () => envReference(ROOT, ENV_SCHEMAS) },
  { name: 'errors', source: 'shared/error-codes.ts', render: errorReference },
];

/** README with every generated section written afresh, and the names of those that changed. */
async function regenerate(readme: string): Promise<{ text: string; stale: string[] }> {
  let text = readme;
  const stale: string[] = [];
  for (const section of SECTIONS) {
    const pattern = new RegExp(
      `<!-- generated:${section.name}\\b[^>]*-->[\\s\\S]*?<!-- /generated:${section.name} -->`,
    );
    const current = pattern.exec(text)?.[0];
    if (current === undefined) {
      throw new Error(
        `${SHOWN} has no <!-- generated:${section.name} --> ... <!-- /generated:${section.name} --> markers`,
      );
    }
    const fresh = [
      `<!-- generated:${section.name}: npm run docs writes this from ${section.source}; edit it there -->`,
      '',
      await section.render(),
      '',
      `<!-- /generated:${section.name} -->`,
    ].join('\n');
    if (fresh !== current) stale.push(section.name);
    text = text.replace(current, () => fresh);
  }
  return { text, stale };
}

const check = process.argv.includes('--check');
const { text, stale } = await regenerate(readFileSync(README, 'utf8'));
if (check && stale.length > 0) {
  process.stderr.write(`${SHOWN} is stale in section(s) ${stale.join(', ')}: run npm run docs and commit it\n`);
  process.exitCode = 1;
} else if (!check) {
  writeFileSync(README, text);
  process.stdout.write(stale.length > 0 ? `${SHOWN}: rewrote ${stale.join(', ')}\n` : `${SHOWN} is current\n`);
}
