/** A Dockerfile read into its stages and instructions: enough for the checks of test/docker. */
export interface Instruction {
  keyword: string;
  /** `--from=build`, `--chmod=0755`, … as name → value. */
  flags: Record<string, string>;
  /** The arguments: the JSON array's items for the exec form, else split on whitespace. */
  args: string[];
  /** The arguments as written, flags removed. */
  text: string;
}

export interface Stage {
  /** The image or earlier stage it starts from, as written (`${NODE_IMAGE}`, `deps`). */
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** The ARGs before the first FROM, with their defaults: what FROM lines may use. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(source: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logicalLines(source)) {
    const match = /^(\S+)\s*(.*)$/s.exec(line)!;
    const keyword = match[1].toUpperCase();
    let rest = match[2];
    const flags: Record<string, string> = {};
    for (
      let flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
      flag;
      flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)
    ) {
      flags[flag[1]] = flag[2] ?? '';
      rest = rest.slice(flag[0].length);
    }
    // HEALTHCHECK [flags] CMD <command>: the command in either form after CMD
    const healthCmd = keyword === 'HEALTHCHECK' ? /^CMD\s+(.*)$/s.exec(rest.trim()) : null;
    const args = healthCmd ? ['CMD', ...splitArgs(healthCmd[1])] : splitArgs(rest);
    const instruction = { keyword, flags, args, text: rest.trim() };
    if (keyword === 'FROM') {
      const [from, as, name] = instruction.args;
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    } else if (keyword === 'ARG') {
      const [name, ...value] = instruction.text.split('=');
      globalArgs[name] = value.join('=');
    }
  }
  return { globalArgs, stages };
}

/** Instructions one per entry: comments and blank lines dropped, `\` continuations joined. */
function logicalLines(source: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    lines.push(pending + line);
    pending = '';
  }
  if (pending.trim() !== '') lines.push(pending.trim());
  return lines;
}

function splitArgs(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // not valid JSON: the shell form, as Docker reads it too
    }
  }
  return trimmed.split(/\s+/).filter((arg) => arg !== '');
}
