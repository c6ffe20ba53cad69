import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMANDS, GLOBAL_OPTIONS, type CommandName, type CommandSpec } from './commands.js';

/**
 * `npm run ops` argument parsing and help, with Node's `util.parseArgs`: the command table
 * (scripts/ops/commands.ts) is all the structure there is, so a parser library would add a
 * dependency and nothing else. Loads no configuration and connects to nothing.
 */

const PROGRAM = 'npm run ops --';

/** A command line that names a command wrongly or gives it wrong arguments: exit code 2, with the help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Invocation {
  command: CommandName;
  /** The command's positional arguments, in the order of its spec's `args`. */
  args: string[];
  /** The options given (names as typed, without `--`). */
  options: Record<string, string | undefined>;
  json: boolean;
}

export type ParsedCommandLine =
  | { kind: 'help'; text: string }
  | { kind: 'usage_error'; message: string; help: string }
  | { kind: 'run'; invocation: Invocation };

/** The table, seen through its interface (optional fields and all). */
const SPECS: readonly CommandSpec[] = COMMANDS;

/** Every option of every command, as parseArgs wants them (each checked against its command afterwards). */
const PARSE_OPTIONS: ParseArgsConfig['options'] = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: GLOBAL_OPTIONS.help.short },
  ...Object.fromEntries(SPECS.flatMap((c) => Object.keys(c.options)).map((name) => [name, { type: 'string' as const }])),
};

const specOf = (name: string): CommandSpec | undefined => SPECS.find((c) => c.name === name);

/** `deployment ramp …` is the two-word command; `list …` the one-word one. */
function findCommand(words: string[]): CommandSpec | undefined {
  return specOf(words.slice(0, 2).join(' ')) ?? specOf(words[0] ?? '');
}

export function parseCommandLine(argv: string[]): ParsedCommandLine {
  // A lenient pass first: `--help` wins over a mistyped option, and an error names its command.
  const loose = parseArgs({ args: argv, options: PARSE_OPTIONS, allowPositionals: true, strict: false });
  const words = loose.positionals;
  if (words[0] === 'help') return helpFor(words.slice(1));
  if (words.length === 0) {
    return Object.keys(loose.values).every((name) => name in GLOBAL_OPTIONS)
      ? { kind: 'help', text: usageText() }
      : { kind: 'usage_error', message: 'no command given', help: usageText() };
  }
  const command = findCommand(words);
  if (!command) return { kind: 'usage_error', message: `unknown command: ${words[0]}`, help: usageText() };
  if (loose.values.help) return { kind: 'help', text: commandHelp(command.name) };
  try {
    return { kind: 'run', invocation: checkAgainst(command, argv) };
  } catch (err) {
    if (!(err instanceof UsageError || isParseArgsError(err))) throw err;
    return { kind: 'usage_error', message: (err as Error).message, help: commandHelp(command.name) };
  }
}

/** The strict pass: known options only, each one the command's, required ones present, the right number of arguments. */
function checkAgainst(command: CommandSpec, argv: string[]): Invocation {
  const { values, positionals } = parseArgs({ args: argv, options: PARSE_OPTIONS, allowPositionals: true, strict: true }) as {
    values: Record<string, string | boolean | undefined>; positionals: string[];
  };
  const args = positionals.slice(command.name.split(' ').length);
  const hasActions = SPECS.some((c) => c.name.startsWith(`${command.name} `));
  if (args.length > command.args.length && hasActions) throw new UsageError(`unknown command: ${command.name} ${args[0]}`);
  if (args.length > command.args.length) throw new UsageError(`unexpected argument: ${args[command.args.length]}`);
  if (args.length < command.args.length) throw new UsageError(`missing ${command.args.slice(args.length).join(' ')}`);
  const options: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name in GLOBAL_OPTIONS) continue;
    if (!(name in command.options)) throw new UsageError(`${command.name} takes no --${name}`);
    options[name] = value as string;
  }
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.required && !options[name]) throw new UsageError(`${command.name} needs --${name} ${spec.value}`);
  }
  return { command: command.name as CommandName, args, options, json: values.json === true };
}

const isParseArgsError = (err: unknown) => err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS');

function helpFor(words: string[]): ParsedCommandLine {
  if (words.length === 0) return { kind: 'help', text: usageText() };
  const command = findCommand(words);
  if (!command) return { kind: 'usage_error', message: `unknown command: ${words.join(' ')}`, help: usageText() };
  return { kind: 'help', text: commandHelp(command.name) };
}

const synopsis = (c: CommandSpec) => [c.name, ...c.args].join(' ');

/** The overview's form: arguments and required options; `[options]` when there are optional ones. */
function shortSynopsis(c: CommandSpec): string {
  const options = Object.entries(c.options);
  const required = options.filter(([, o]) => o.required).map(([name, o]) => `--${name} ${o.value}`);
  return [synopsis(c), ...required, ...(options.some(([, o]) => !o.required) ? ['[options]'] : [])].join(' ');
}

function optionSynopsis(c: CommandSpec): string {
  return Object.entries(c.options)
    .map(([name, o]) => (o.required ? `--${name} ${o.value}` : `[--${name} ${o.value}]`))
    .join(' ');
}

/** Rows of two columns, the first padded to the widest. */
function twoColumns(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}   ${right}`);
}

const globalOptionLines = () => twoColumns([
  ['--json', GLOBAL_OPTIONS.json.description],
  ['-h, --help', GLOBAL_OPTIONS.help.description],
]);

/** The whole tool's help: every command by group, the options every command takes, examples. */
export function usageText(): string {
  const lines = [
    'Steadfast operations from a terminal: the same code as /v1/ops/* (README, Operations).',
    '',
    `Usage: ${PROGRAM} <command> [arguments] [options]`,
    `       ${PROGRAM} <command> --help`,
  ];
  const groups = [...new Set(SPECS.map((c) => c.group))];
  const rows = SPECS.map((c): [string, string] => [shortSynopsis(c), c.summary]);
  const aligned = twoColumns(rows);
  for (const group of groups) {
    lines.push('', `${group}:`);
    SPECS.forEach((c, i) => {
      if (c.group === group) lines.push(aligned[i]!);
    });
  }
  lines.push(
    '', 'Options (every command):', ...globalOptionLines(),
    '', 'Output: aligned tables; --json prints the machine form. Exit codes: 0 done, 1 failed or found a problem, 2 bad usage.',
    'Configuration (DATABASE_URL, TEMPORAL_ADDRESS, …: platform/config.ts) is read only when a command runs.',
    '', 'Examples:',
    `  ${PROGRAM} list --type paymentSaga --business-status authorized --older-than 15m`,
    `  ${PROGRAM} retry payment-pay_01J… --reason "fix #123"`,
    `  ${PROGRAM} audit --json`,
    `  ${PROGRAM} deployment --help`,
  );
  return lines.join('\n');
}

/** One command's help (or a group's: `deployment` shows its actions too). */
export function commandHelp(name: string): string {
  const commands = SPECS.filter((c) => c.name === name || c.name.startsWith(`${name} `));
  const lines = commands.map((c, i) =>
    `${i === 0 ? 'Usage:' : '      '} ${PROGRAM} ${synopsis(c)}${Object.keys(c.options).length ? ` ${optionSynopsis(c)}` : ''} [--json]`);
  for (const c of commands) {
    lines.push('', `${synopsis(c)}: ${c.summary}.`);
    if (c.details) lines.push(c.details);
    const options = Object.entries(c.options).map(([n, o]): [string, string] => [`--${n} ${o.value}`, o.description + (o.required ? ' (required)' : '')]);
    if (options.length) lines.push('', 'Options:', ...twoColumns(options));
    lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  }
  lines.push('', 'Options (every command):', ...globalOptionLines());
  return lines.join('\n');
}

/** An integer option within bounds (`--limit`), its default when absent; anything else is a usage error. */
export function intOption(invocation: Invocation, name: string, bounds: { min: number; max: number; byDefault: number }): number {
  const text = invocation.options[name];
  if (text === undefined) return bounds.byDefault;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(value >= bounds.min && value <= bounds.max)) throw new UsageError(`--${name} must be an integer from ${bounds.min} to ${bounds.max}`);
  return value;
}
