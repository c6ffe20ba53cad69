import { commandHelp, parseCommandLine, UsageError } from './ops/parse.js';

/**
 * `npm run ops -- <command>`: the ops API from a terminal, against DATABASE_URL and TEMPORAL_ADDRESS
 * (scripts/ops/commands.ts lists the commands). The command line is parsed and checked first; help
 * and usage errors answer without reading configuration or connecting to anything. Only a command
 * that runs loads the code that connects (scripts/ops/run.ts), so help comes back at once.
 * Exit codes: 0 done, 1 failed or found a problem, 2 bad usage.
 */
async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'help') {
    console.log(parsed.text);
    return 0;
  }
  if (parsed.kind === 'usage_error') return usageError(parsed.message, parsed.help);
  const { runCommand } = await import('./ops/run.js');
  try {
    return await runCommand(parsed.invocation);
  } catch (err) {
    if (err instanceof UsageError) return usageError(err.message, commandHelp(parsed.invocation.command));
    throw err;
  }
}

function usageError(message: string, help: string): number {
  console.error(`npm run ops: ${message}\n\n${help}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
