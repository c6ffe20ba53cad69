import { DockerfileParser, type Copy, type Healthcheck, type Instruction } from 'dockerfile-ast';

/**
 * A Dockerfile read into what `npm run check:image` replays (scripts/image/check.ts): its stages,
 * each with its steps in order and the final image's settings. Parsed by dockerfile-ast (the
 * parser of the Dockerfile language server); the instructions the check cannot replay faithfully
 * are refused by name, so a Dockerfile that grows one fails the check instead of passing unchecked.
 */

export type Step =
  | { kind: 'workdir'; path: string }
  | { kind: 'env'; vars: Record<string, string> }
  | { kind: 'user'; user: string }
  | { kind: 'copy'; from: string | null; sources: string[]; dest: string; line: string }
  | { kind: 'run'; argv: string[]; line: string };

export interface Stage {
  name: string;
  /** An image (the base's files are not replayed: this machine's node and npm stand in) or an earlier stage. */
  base: { image: string } | { stage: string };
  steps: Step[];
  /** Shell or exec form, as argv. */
  cmd: string[] | null;
  healthcheck: { argv: string[]; flags: Record<string, string> } | null;
  expose: string[];
}

const IGNORED = new Set(['LABEL', 'STOPSIGNAL', 'MAINTAINER']);

export function parseDockerfile(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const content = instruction.getArgumentsContent() ?? '';
    const stage = stages.at(-1);
    if (keyword === 'ARG' && !stage) {
      const [name, value = ''] = splitAssignment(content);
      args.set(name, value);
    } else if (keyword === 'FROM') {
      stages.push(fromStage(content, args, stages));
    } else if (!stage) {
      throw new Error(`Dockerfile: ${keyword} before the first FROM is not replayed`);
    } else if (!IGNORED.has(keyword)) {
      stageInstruction(stage, instruction, content);
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return stages;
}

function fromStage(content: string, args: Map<string, string>, earlier: Stage[]): Stage {
  const expanded = content.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => args.get((braced ?? bare)!) ?? '');
  const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(expanded.trim());
  if (!match) throw new Error(`Dockerfile: FROM ${content} is not replayed (flags?)`);
  const [, base, name = String(earlier.length)] = match;
  const isStage = earlier.some((stage) => stage.name === base);
  return { name, base: isStage ? { stage: base! } : { image: base! }, steps: [], cmd: null, healthcheck: null, expose: [] };
}

function stageInstruction(stage: Stage, instruction: Instruction, content: string): void {
  const keyword = instruction.getKeyword();
  const line = `${keyword} ${content}`.replace(/\s*\\\n\s*/g, ' ');
  switch (keyword) {
    case 'WORKDIR':
      stage.steps.push({ kind: 'workdir', path: content.trim() });
      return;
    case 'ENV':
      stage.steps.push({ kind: 'env', vars: Object.fromEntries(instruction.getArguments().map((arg) => splitAssignment(arg.getValue()))) });
      return;
    case 'USER':
      stage.steps.push({ kind: 'user', user: content.trim() });
      return;
    case 'COPY':
      stage.steps.push(copyStep(instruction as Copy, line));
      return;
    case 'RUN':
      stage.steps.push({ kind: 'run', argv: commandArgv(content), line });
      return;
    case 'CMD':
      stage.cmd = commandArgv(content);
      return;
    case 'EXPOSE':
      stage.expose = content.trim().split(/\s+/);
      return;
    case 'HEALTHCHECK':
      stage.healthcheck = healthcheck(instruction as Healthcheck, content);
      return;
    default:
      throw new Error(`Dockerfile: ${keyword} is not replayed by npm run check:image (scripts/image/dockerfile.ts)`);
  }
}

function copyStep(copy: Copy, line: string): Step {
  const flags = copy.getFlags();
  const unsupported = flags.filter((flag) => !['from', 'link'].includes(flag.getName()));
  if (unsupported.length > 0) throw new Error(`Dockerfile: ${line}: --${unsupported[0]!.getName()} is not replayed`);
  const paths = copy.getArguments().map((arg) => arg.getValue()); // the flags are not among them
  if (paths.length < 2 || paths.some((path) => /[*?[]|\$/.test(path))) throw new Error(`Dockerfile: ${line}: only plain paths are replayed`);
  return { kind: 'copy', from: copy.getFromFlag()?.getValue() ?? null, sources: paths.slice(0, -1), dest: paths.at(-1)!, line };
}

function healthcheck(instruction: Healthcheck, content: string): Stage['healthcheck'] {
  const flags = Object.fromEntries(instruction.getFlags().map((flag) => [flag.getName(), flag.getValue() ?? '']));
  const rest = content.replace(/^(\s*--\S+)*\s*/, '');
  if (/^NONE\b/i.test(rest)) return null;
  const command = /^CMD\s+([\s\S]*)$/i.exec(rest);
  if (!command) throw new Error(`Dockerfile: HEALTHCHECK ${content} is not replayed`);
  return { argv: commandArgv(command[1]!), flags };
}

/** Exec form (a JSON array) as is; shell form through `/bin/sh -c`, as Docker runs it. */
function commandArgv(content: string): string[] {
  const text = content.trim();
  if (text.startsWith('[')) {
    const argv = JSON.parse(text) as unknown;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((part) => typeof part !== 'string')) throw new Error(`Dockerfile: bad exec form ${text}`);
    return argv as string[];
  }
  return ['/bin/sh', '-c', text.replace(/\\\n/g, ' ')];
}

function splitAssignment(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at < 0) throw new Error(`Dockerfile: ${text}: only NAME=value is replayed`);
  return [text.slice(0, at).trim(), text.slice(at + 1).trim().replace(/^"(.*)"$/, '$1')];
}
