import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type Ajv from 'ajv';
import { parseDocument } from 'yaml';
import { Catalogue, type CatalogueEntry } from './catalogue';
import { CatalogueError } from './catalogue-errors';
import {
  checkFileStructure,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_SECONDS,
  type RawTask,
} from './file-schema';
import { createParamsAjv, paramPlaceholderProblem, prepareParamsSchema } from './params-schema';
import { isValidProgram, parseArgvElement, type ArgvPart } from './placeholders';
import { resolvePlaybook } from './playbooks';
import type { CatalogueTask, OperationType } from './types';

export interface CatalogueOptions {
  /** The directory of `*.yml` / `*.yaml` operation type files. */
  dir: string;
  /** The directory every `playbook` is relative to, and confined to. */
  playbooksDir: string;
}

const TYPE_FILE = /^[^.].*\.ya?ml$/;

/** Reads and validates every operation type file; throws CatalogueError on the first problem. */
export function loadCatalogue(options: CatalogueOptions): Catalogue {
  const checked = readCatalogue(options, 'first');
  if (checked.problems.length > 0) throw new CatalogueError(checked.problems[0]);
  return checked.catalogue!;
}

/** What checkCatalogue found: the files it read and every problem, each naming its file. */
export interface CatalogueCheck {
  dir: string;
  playbooksDir: string;
  /** The type files read, relative to `dir`, sorted. */
  files: string[];
  /** One message per broken file (its first problem), and per name defined twice. */
  problems: string[];
  /** The catalogue, when there is no problem. */
  catalogue?: Catalogue;
}

/**
 * The same reading and checks as loadCatalogue (playbooks included), but every file is
 * checked and every problem kept, for `aegir catalogue:validate` in a catalogue's own CI.
 */
export function checkCatalogue(options: CatalogueOptions): CatalogueCheck {
  return readCatalogue(options, 'all');
}

function readCatalogue(options: CatalogueOptions, stopAt: 'first' | 'all'): CatalogueCheck {
  const dir = resolve(options.dir);
  const playbooksDir = resolve(options.playbooksDir);
  const result: CatalogueCheck = { dir, playbooksDir, files: [], problems: [] };
  try {
    result.files = typeFiles(dir);
  } catch (error) {
    result.problems.push((error as Error).message);
    return result;
  }
  const ajv = createParamsAjv();
  const entries: CatalogueEntry[] = [];
  const definedIn = new Map<string, string>();
  for (const file of result.files) {
    let entry: CatalogueEntry;
    try {
      entry = loadTypeFile(file, readFileSync(join(dir, file), 'utf8'), ajv, playbooksDir);
    } catch (error) {
      result.problems.push((error as Error).message);
      if (stopAt === 'first') return result;
      continue;
    }
    const earlier = definedIn.get(entry.type.name);
    if (earlier) {
      result.problems.push(
        `catalogue file ${file}: name "${entry.type.name}" is already defined in ${earlier}`,
      );
      if (stopAt === 'first') return result;
      continue;
    }
    definedIn.set(entry.type.name, file);
    entries.push(entry);
  }
  if (result.problems.length === 0) result.catalogue = new Catalogue(entries);
  return result;
}

/** The type files of the directory (not its subdirectories), sorted; dotfiles are skipped. */
function typeFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CatalogueError(`no operation types found in ${dir}: the directory does not exist`);
    }
    throw new CatalogueError(
      `cannot read the catalogue directory ${dir}: ${(error as Error).message}`,
    );
  }
  const files = names.filter((name) => TYPE_FILE.test(name) && statSync(join(dir, name)).isFile());
  if (files.length === 0) throw new CatalogueError(`no operation types found in ${dir}`);
  const realDir = realpathSync(dir);
  for (const file of files) {
    const real = realpathSync(join(dir, file));
    if (dirname(real) !== realDir) {
      throw new CatalogueError(
        `catalogue file ${file}: is outside the catalogue directory (through a symbolic link)`,
      );
    }
  }
  return files.sort();
}

/**
 * YAML as the catalogue reads it: one document, unique keys, no unknown tags (`!!js/function`),
 * aliases bounded; throws `YAML parse error at line L, column C: …`.
 */
export function parseYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  // An unknown tag (`!!js/function`, `!Ref`) is only a warning to the parser, which then keeps
  // the text: refuse it, so a file never means something other than what it looks like.
  const error =
    doc.errors[0] ?? doc.warnings.find((warning) => warning.code === 'TAG_RESOLVE_FAILED');
  if (error) {
    const where = error.linePos
      ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}`
      : '';
    const what =
      error.code === 'MULTIPLE_DOCS'
        ? 'a catalogue file holds one document (one operation type), but this one has more'
        : error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new Error(`YAML parse error${where}: ${what}`);
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/** Parses and checks one file; `file` is its name relative to the catalogue directory. */
export function loadTypeFile(
  file: string,
  text: string,
  ajv: Ajv,
  playbooksDir: string,
): CatalogueEntry {
  try {
    return buildEntry(file, text, ajv, playbooksDir);
  } catch (error) {
    throw new CatalogueError(`catalogue file ${file}: ${(error as Error).message}`);
  }
}

function buildEntry(file: string, text: string, ajv: Ajv, playbooksDir: string): CatalogueEntry {
  const checked = checkFileStructure(parseYaml(text));
  if (!checked.ok) throw new Error(checked.problem);
  const raw = checked.file;
  const params = prepareParamsSchema(ajv, raw.params);
  const argv = new Map<string, readonly ArgvPart[]>();
  const playbookPaths = new Map<string, string>();
  const tasks = raw.tasks.map((task, index): CatalogueTask => {
    const at = `tasks[${index}]`;
    const first = raw.tasks.findIndex((other) => other.name === task.name);
    if (first !== index)
      throw new Error(`${at}.name "${task.name}" is already used by tasks[${first}]`);
    checkRunnerFields(at, task);
    if (task.runner === 'ansible-playbook') {
      const playbook = task.playbook!;
      try {
        playbookPaths.set(task.name, resolvePlaybook(playbooksDir, playbook));
      } catch (error) {
        throw new Error(`${at}.playbook ${JSON.stringify(playbook)} ${(error as Error).message}`);
      }
      return {
        name: task.name,
        runner: task.runner,
        timeoutSeconds: task.timeout ?? DEFAULT_TIMEOUT_SECONDS,
        playbook,
        inventory: task.inventory ?? 'target',
      };
    }
    argv.set(task.name, parseArgv(at, task.argv!, params.schema));
    return {
      name: task.name,
      runner: task.runner,
      timeoutSeconds: task.timeout ?? DEFAULT_TIMEOUT_SECONDS,
      argv: task.argv,
    };
  });
  const type: OperationType = {
    name: raw.name,
    description: raw.description,
    pool: raw.pool ?? 'default',
    parallel: raw.parallel ?? false,
    retry: { attempts: raw.retry?.attempts ?? 0, backoffSeconds: raw.retry?.backoff ?? 0 },
    maxOutputBytes: raw.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    paramsSchema: params.schema,
    secretParams: params.secretParams,
    tasks,
    file,
  };
  return {
    type: deepFreeze(type),
    validateParams: params.validate,
    validateStoredParams: params.validateStored,
    argv,
    playbookPaths,
  };
}

const RUNNER_FIELDS: Record<RawTask['runner'], { required: string[]; forbidden: string[] }> = {
  'ansible-playbook': { required: ['playbook'], forbidden: ['argv'] },
  command: { required: ['argv'], forbidden: ['playbook', 'inventory'] },
};

function checkRunnerFields(at: string, task: RawTask): void {
  const { required, forbidden } = RUNNER_FIELDS[task.runner];
  for (const field of required) {
    if (!(field in task)) throw new Error(`${at}.${field} is required with runner ${task.runner}`);
  }
  for (const field of forbidden) {
    if (field in task) throw new Error(`${at}.${field} is not allowed with runner ${task.runner}`);
  }
}

function parseArgv(at: string, argv: string[], schema: Record<string, unknown>): ArgvPart[] {
  return argv.map((element, i) => {
    const field = `${at}.argv[${i}] ${JSON.stringify(element)}`;
    let part: ArgvPart;
    try {
      part = parseArgvElement(element);
    } catch (error) {
      throw new Error(`${field} ${(error as Error).message}`);
    }
    if (i === 0) {
      if (part.kind !== 'literal') throw new Error(`${field} must be a program, not a placeholder`);
      if (!isValidProgram(element)) {
        throw new Error(`${field} must be a plain program name or an absolute path`);
      }
    }
    if (part.kind === 'param') {
      const problem = paramPlaceholderProblem(schema, part.name);
      if (problem) throw new Error(`${field}: ${problem}`);
    }
    return part;
  });
}

/** Types are shared by every caller for the life of the process: nobody may change one. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
