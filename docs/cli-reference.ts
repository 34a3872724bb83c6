import type { Argument, Command, Help, Option } from 'commander';
import { EXIT_CODES } from '../bin/exit-codes.ts';
import { cell, table } from './markdown.ts';

/**
 * README's CLI reference, read from the commander program itself (bin/cli-program.ts): every
 * command and sub-command, its arguments, every flag with its help text, default and choices as
 * commander's own help formats them, then the exit codes. A flag or argument that three or more
 * commands declare the same way (same term, same help) is described once, in the last row, and
 * named in each command's row. One line per command keeps README short.
 */
const SHARED_AT = 3;

interface Item {
  /** The term as --help prints it: `--shard-size <k>`, `<input>`. */
  term: string;
  /** The help text as --help prints it, defaults and choices included. */
  text: string;
  required: boolean;
}

export function cliReference(program: Command): string {
  const commands = leafCommands(program);
  const uses = new Map<string, number>();
  for (const command of commands) {
    for (const item of items(command)) uses.set(key(item), (uses.get(key(item)) ?? 0) + 1);
  }
  const isShared = (item: Item) => (uses.get(key(item)) ?? 0) >= SHARED_AT;
  const shared = new Map<string, Item>();
  for (const item of commands.flatMap(items).filter(isShared)) shared.set(key(item), item);
  const globalFlags = program.options.map((option) => optionItem(program.createHelp(), option));

  const sharedCell = [...shared.values(), ...globalFlags].map((item) => `\`${item.term}\`: ${cell(item.text)}`);
  const exitCodes = EXIT_CODES.map(({ code, meaning }) => `- \`${code}\` ${cell(meaning)}`);
  return [
    `Every command prints this with examples: \`${program.name()} <command> --help\`.`,
    '',
    table(
      ['command', 'what it does; its own arguments and flags'],
      [
        ...commands.map((command) => [`\`${usage(command)}\``, commandCell(command, isShared)]),
        ['shared by several commands, and global', sharedCell.join('<br>')],
      ],
    ),
    '',
    'Exit codes:',
    '',
    ...exitCodes,
  ].join('\n');
}

/** The commands a user runs: sub-commands in place of a parent that only groups them. */
function leafCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => (sub.commands.length > 0 ? leafCommands(sub) : [sub]));
}

/** `schedule add <name> <input>`: the command's path under the program, and its arguments. */
function usage(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return [...names, ...command.registeredArguments.map(argumentTerm)].join(' ');
}

function commandCell(command: Command, isShared: (item: Item) => boolean): string {
  const own = items(command).filter((item) => !isShared(item));
  const sharedTerms = items(command)
    .filter(isShared)
    .map((item) => `\`${item.term}\`${item.required ? ' (required)' : ''}`);
  const lines = [
    cell(command.description()),
    ...own.map((item) => `\`${item.term}\`${item.required ? ' (required)' : ''}: ${cell(item.text)}`),
    ...(sharedTerms.length > 0 ? [`shared: ${sharedTerms.join(', ')}`] : []),
  ];
  return lines.join('<br>');
}

function items(command: Command): Item[] {
  const help = command.createHelp();
  return [
    ...command.registeredArguments
      .filter((argument) => argument.description !== '')
      .map((argument) => argumentItem(help, argument)),
    ...command.options.filter((option) => !option.hidden).map((option) => optionItem(help, option)),
  ];
}

function argumentItem(help: Help, argument: Argument): Item {
  return { term: argumentTerm(argument), text: help.argumentDescription(argument), required: false };
}

function argumentTerm(argument: Argument): string {
  const name = `${argument.name()}${argument.variadic ? '...' : ''}`;
  return argument.required ? `<${name}>` : `[${name}]`;
}

function optionItem(help: Help, option: Option): Item {
  // A switch's `(default: false)` says nothing a reader does not assume.
  const text = help.optionDescription(option).replace(/ \(default: false\)$/, '');
  return { term: help.optionTerm(option), text, required: option.mandatory };
}

function key(item: Item): string {
  return `${item.term}\u0000${item.text}\u0000${item.required}`;
}

/** Every long flag of every command, for the test that README names them all. */
export function longFlags(program: Command): string[] {
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  return all(program).flatMap((command) => command.options.flatMap((option) => option.long ?? []));
}
