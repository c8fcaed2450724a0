import type { ListedType } from '@app/catalogue';
import { Command, CommandRunner, Option } from 'nest-commander';
import { table } from '../format';
import { Operations } from '../operations/operations';
import { out, printJson } from '../output';

interface ParamSchema {
  type?: unknown;
  enum?: unknown;
  secret?: unknown;
  default?: unknown;
}

/** `version*` (required), `password* secret`, `mode=a|b`, `count=5` (a default). */
export function describeParams(type: ListedType): string {
  const properties = (type.params.properties ?? {}) as Record<string, ParamSchema>;
  const required = new Set((type.params.required ?? []) as string[]);
  const names = Object.keys(properties);
  if (names.length === 0) return '-';
  return names
    .map((name) => {
      const schema = properties[name];
      let text = required.has(name) ? `${name}*` : name;
      if (Array.isArray(schema.enum)) text += `=${schema.enum.map(String).join('|')}`;
      else if (schema.default !== undefined) text += `=${JSON.stringify(schema.default)}`;
      if (schema.secret === true) text += ' (secret)';
      return text;
    })
    .join(', ');
}

@Command({
  name: 'catalogue:list',
  description:
    'The operation types with their params and tasks: the local catalogue (CATALOGUE_DIR), or GET /catalogue when AEGIR_API_URL is set',
})
export class CatalogueListCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const listing = await this.operations.catalogue();
    if (options.json) return printJson(listing);
    if (listing.types.length === 0) return out('no operation types\n');
    await out(
      table(
        ['TYPE', 'POOL', 'PARALLEL', 'TASKS', 'PARAMS'],
        listing.types.map((type) => [
          type.name,
          type.pool,
          type.parallel ? 'yes' : 'no',
          type.tasks.map((task) => task.name).join(', '),
          describeParams(type),
        ]),
      ),
    );
    await out('params: * required, =a|b one of, =x its default\n');
  }

  @Option({
    flags: '--json',
    description: 'print {types: [...]} as GET /catalogue answers it (params as JSON Schema)',
  })
  parseJson(): boolean {
    return true;
  }
}
