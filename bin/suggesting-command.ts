import { Command, type Option } from 'commander';

/**
 * A commander Command whose mistyped flag is reported as such, with commander's suggestion
 * ("error: unknown option '--ouput' (Did you mean --output?)"), before the usage text.
 *
 * Why a subclass: commander checks required options before unknown ones, so `run x --ouput d`
 * said only "required option '--output <uri>' not specified", hiding the typo that caused it
 * (commander 14, Command._parseCommand). At that point every flag commander knows is consumed, so
 * a `--flag` left among the command's arguments is an unknown one: that error comes first.
 * Subcommands are made by createCommand, so every command of the program behaves the same.
 */
export class SuggestingCommand extends Command {
  override createCommand(name?: string): Command {
    return new SuggestingCommand(name);
  }

  /** Commander's hook for a missing required option (in lib/command.js, not in its typings). */
  missingMandatoryOptionValue(option: Option): void {
    const end = this.args.indexOf('--');
    const unknown = (end === -1 ? this.args : this.args.slice(0, end)).find((arg) => /^--[^-]/.test(arg));
    const hooks = Command.prototype as unknown as CommanderErrorHooks;
    if (unknown !== undefined) hooks.unknownOption.call(this, unknown.split('=')[0] ?? unknown);
    hooks.missingMandatoryOptionValue.call(this, option);
  }
}

/** The two error methods of commander's Command that its typings leave out; both exit (or throw). */
interface CommanderErrorHooks {
  unknownOption(flag: string): void;
  missingMandatoryOptionValue(option: Option): void;
}
