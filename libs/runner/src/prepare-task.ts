import { mkdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { ResolvedTask, TaskContext } from '@app/catalogue';
import type { Workspace } from './workspace';

/**
 * JSON, which Ansible's YAML inventory plugin reads: every host name is a quoted string, so
 * a target such as `yes`, `null`, `on`, `~`, `1_000` or `0b11` stays that name (in YAML it
 * became true, null, 1000 or 3, and the play then matched no host).
 */
export const INVENTORY_FILE = 'inventory.json';
/**
 * What ansible-playbook's default callback (pinned in ansibleEnv) prints for a play that
 * matched no host, which it does not count as a failure.
 */
export const NO_HOSTS_MATCHED_LINE = 'skipping: no hosts matched';
export const VARS_FILE = 'vars.json';
/** vars.json as Ansible must read it: every string marked unsafe, so never templated. */
export const EXTRA_VARS_FILE = 'extra-vars.json';

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
const DEFAULT_PYTHON_INTERPRETER = 'auto_silent';

/** What to spawn for one task: argument array, complete environment and working directory. */
export interface PreparedCommand {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface PrepareTaskContext extends TaskContext {
  workspace: Workspace;
  /** A directory the dispatcher keeps across operations, passed to the task. */
  stateDir: string;
  taskName: string;
  /** `ansible_python_interpreter` for the localhost inventory; default `auto_silent`. */
  pythonInterpreter?: string;
}

/**
 * Writes a task's config files into the workspace (vars.json always; inventory.yml and
 * extra-vars.json for playbooks) and returns the command to run. Files of an earlier task in
 * the same workspace are replaced. The environment is built from scratch: the dispatcher's own
 * holds credentials.
 */
export async function prepareTask(
  task: ResolvedTask,
  ctx: PrepareTaskContext,
): Promise<PreparedCommand> {
  const workspace = ctx.workspace;
  const vars = buildVars(ctx);
  const varsPath = await replaceFile(workspace, VARS_FILE, toJson(vars));
  const env = baseEnv(ctx, varsPath);

  if (task.runner === 'command') {
    if (!Array.isArray(task.argv) || task.argv.length === 0 || task.argv[0] === '') {
      throw new TypeError(`task ${task.name}: argv must be a non-empty array`);
    }
    return { argv: [...task.argv], env, cwd: workspace.path };
  }
  if (task.runner !== 'ansible-playbook') {
    throw new TypeError(`task ${(task as { name: string }).name}: unknown runner`);
  }
  if (!isAbsolute(task.playbookPath)) {
    throw new TypeError(`task ${task.name}: playbookPath must be absolute`);
  }

  // Params come from REST clients: a value such as "{{ lookup('pipe', ...) }}" must reach the
  // playbook as text, never be rendered by Ansible (which renders extra vars by default).
  const extraVarsPath = await replaceFile(workspace, EXTRA_VARS_FILE, toJson(markUnsafe(vars)));
  const inventoryPath = await replaceFile(
    workspace,
    INVENTORY_FILE,
    toJson(buildInventory(task.inventory, ctx)),
  );
  await mkdir(join(workspace.path, '.ansible', 'tmp'), { recursive: true, mode: 0o700 });
  return {
    argv: ['ansible-playbook', '-i', inventoryPath, '-e', `@${extraVarsPath}`, task.playbookPath],
    env: { ...env, ...ansibleEnv(workspace.path) },
    cwd: workspace.path,
  };
}

/**
 * Removes the files that hold the params (vars.json, extra-vars.json) once the task is over:
 * the only place a secret param is in clear is there, and only while its task runs.
 */
export async function removeTaskFiles(workspace: Workspace): Promise<void> {
  await workspace.removeFile(VARS_FILE);
  await workspace.removeFile(EXTRA_VARS_FILE);
}

/** Params at top level (what playbooks use), plus the run's identity under `aegir`. */
function buildVars(ctx: PrepareTaskContext): Record<string, unknown> {
  for (const key of Object.keys(ctx.params)) {
    // Extra vars override everything in Ansible: a param could otherwise set connection
    // variables (ansible_ssh_common_args runs local commands) or hide the run's identity.
    if (key === 'aegir' || key.toLowerCase().startsWith('ansible_')) {
      throw new TypeError(`params.${key}: reserved name`);
    }
  }
  checkNoAnsibleMarkers(ctx.params, 'params');
  return {
    ...ctx.params,
    aegir: {
      operation_id: ctx.operationId,
      type: ctx.type,
      target: ctx.target,
      task: ctx.taskName,
      state_dir: ctx.stateDir,
      workspace: ctx.workspace.path,
    },
  };
}

/** Ansible's JSON decoder reads keys like `__ansible_vault` as markers, not data. */
function checkNoAnsibleMarkers(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkNoAnsibleMarkers(item, `${path}[${index}]`));
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('__ansible')) throw new TypeError(`${path}.${key}: reserved name`);
      checkNoAnsibleMarkers(child, `${path}.${key}`);
    }
  }
}

/** Wraps every string as `{"__ansible_unsafe": s}`, which Ansible loads as never-templated text. */
function markUnsafe(value: unknown): unknown {
  if (typeof value === 'string') return { __ansible_unsafe: value };
  if (Array.isArray(value)) return value.map(markUnsafe);
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, markUnsafe(child)]),
    );
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function buildInventory(
  inventory: 'localhost' | 'target',
  ctx: PrepareTaskContext,
): Record<string, unknown> {
  if (inventory === 'localhost') {
    const localhost = {
      ansible_connection: 'local',
      ansible_python_interpreter: ctx.pythonInterpreter ?? DEFAULT_PYTHON_INTERPRETER,
    };
    return { all: { hosts: { localhost } } };
  }
  if (inventory === 'target') {
    if (typeof ctx.target !== 'string' || ctx.target.length === 0) {
      throw new TypeError('target: required for an inventory of the target host');
    }
    return { all: { hosts: { [ctx.target]: {} } } };
  }
  throw new TypeError(`inventory: must be localhost or target, got ${JSON.stringify(inventory)}`);
}

function baseEnv(ctx: PrepareTaskContext, varsPath: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? DEFAULT_PATH,
    HOME: process.env.HOME ?? ctx.workspace.path,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    AEGIR_OPERATION_ID: ctx.operationId,
    AEGIR_TARGET: ctx.target,
    AEGIR_TASK: ctx.taskName,
    AEGIR_TYPE: ctx.type,
    AEGIR_WORKSPACE: ctx.workspace.path,
    AEGIR_STATE_DIR: ctx.stateDir,
    AEGIR_VARS_FILE: varsPath,
  };
}

function ansibleEnv(workspacePath: string): Record<string, string> {
  return {
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    PYTHONUNBUFFERED: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_LOCAL_TEMP: join(workspacePath, '.ansible', 'tmp'),
    ANSIBLE_REMOTE_TMP: join(workspacePath, '.ansible', 'remote'),
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_STDOUT_CALLBACK: 'default', // NO_HOSTS_MATCHED_LINE is its wording
  };
}

/** Writes a fresh file, replacing one left by an earlier task of the same workspace. */
async function replaceFile(workspace: Workspace, name: string, content: string): Promise<string> {
  try {
    return await workspace.writeFile(name, content, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // Never written over in place: a fresh file, so no planted symlink is followed.
  await workspace.removeFile(name);
  return workspace.writeFile(name, content, 0o600);
}
