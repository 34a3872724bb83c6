/** A Markdown table: one line per row, so that a long cell never breaks the table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Help or doc text made safe for a table cell: one line, `|` escaped, and placeholders like
 * `<run>` in code spans (bare, GitHub would read them as HTML tags and drop them).
 */
export function cell(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(`[^`]*`)/)
    .map((part, index) => (index % 2 === 1 ? part : part.replace(/<[^<>\s]+>/g, (tag) => `\`${tag}\``)))
    .join('')
    .replaceAll('|', '\\|');
}
