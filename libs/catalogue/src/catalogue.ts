import type { ErrorObject, ValidateFunction } from 'ajv';
import { PlanError } from './catalogue-errors';
import { errorProperty, fieldPath, pointerSegments, quote } from './fields';
import { MAX_SECRET_LENGTH } from './params-schema';
import type { ArgvPart } from './placeholders';
import type { OperationPlan, OperationType, ResolvedTask, TaskContext } from './types';

/** A host or site name: no slashes, no spaces, no leading dot or dash. */
export const TARGET_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})$/;

/** What the loader hands the catalogue for one operation type. */
export interface CatalogueEntry {
  type: OperationType;
  /** Params as a client sends them (secrets in clear). */
  validateParams: ValidateFunction;
  /** Params as stored and dispatched (secrets sealed). */
  validateStoredParams: ValidateFunction;
  /** Per task: the parsed argv of a command task, or the absolute playbook path. */
  argv: ReadonlyMap<string, readonly ArgvPart[]>;
  playbookPaths: ReadonlyMap<string, string>;
}

export interface PlanRequest {
  type: unknown;
  target: unknown;
  params: unknown;
}

function paramsError(error: ErrorObject): PlanError {
  const segments = pointerSegments(error.instancePath);
  const property = errorProperty(error);
  const field = fieldPath('params', property === undefined ? segments : [...segments, property]);
  if (error.keyword === 'additionalProperties') {
    return new PlanError(field, `${field} is not a known parameter`);
  }
  if (error.keyword === 'required') return new PlanError(field, `${field} is required`);
  return new PlanError(field, `${field} ${error.message ?? 'is invalid'}`);
}

function checkTarget(target: unknown): string {
  if (typeof target !== 'string') throw new PlanError('target', 'target must be string');
  if (!TARGET_PATTERN.test(target)) {
    throw new PlanError(
      'target',
      `target must match ${TARGET_PATTERN.source} (a host or site name: no slashes, no spaces, no leading dot or dash)`,
    );
  }
  return target;
}

/** The operation types an installation offers, and the rules for asking for one. */
export class Catalogue {
  private readonly entries: ReadonlyMap<string, CatalogueEntry>;

  constructor(entries: readonly CatalogueEntry[]) {
    this.entries = new Map(
      [...entries]
        .sort((a, b) => (a.type.name < b.type.name ? -1 : a.type.name > b.type.name ? 1 : 0))
        .map((entry) => [entry.type.name, entry]),
    );
  }

  /** Every type, sorted by name. The objects are frozen. */
  types(): OperationType[] {
    return [...this.entries.values()].map((entry) => entry.type);
  }

  get(name: string): OperationType | undefined {
    return this.entries.get(name)?.type;
  }

  /** The pools the types run in: one dispatch queue each. */
  pools(): string[] {
    return [...new Set(this.types().map((type) => type.pool))].sort();
  }

  /**
   * Validates a client's request and expands it into the tasks to store. Secret params are
   * in clear in the plan: seal them (PlanSealer) before it is stored.
   */
  plan(request: PlanRequest): OperationPlan {
    const entry = this.entry(request.type);
    const target = checkTarget(request.target);
    const params = this.validParams(entry, request.params, 'clear');
    for (const name of entry.type.secretParams) {
      const value = params[name];
      if (typeof value === 'string' && value.length > MAX_SECRET_LENGTH) {
        throw new PlanError(
          `params.${name}`,
          `params.${name} must NOT have more than ${MAX_SECRET_LENGTH} characters`,
        );
      }
    }
    return this.planOf(entry, target, params);
  }

  /**
   * The same for params as they were stored (a retry): each secret param must be sealed, and
   * is kept as it is.
   */
  planStored(request: PlanRequest): OperationPlan {
    const entry = this.entry(request.type);
    const target = checkTarget(request.target);
    return this.planOf(entry, target, this.validParams(entry, request.params, 'stored'));
  }

  private planOf(
    entry: CatalogueEntry,
    target: string,
    params: Record<string, unknown>,
  ): OperationPlan {
    return {
      type: entry.type.name,
      pool: entry.type.pool,
      target,
      params,
      tasks: entry.type.tasks.map((task) => ({ name: task.name, runner: task.runner })),
      exclusive: !entry.type.parallel,
      retry: { ...entry.type.retry },
    };
  }

  /** What the dispatcher runs for one task, checked again against this catalogue. */
  resolveTask(context: TaskContext, taskName: string): ResolvedTask {
    const entry = this.entry(context.type);
    const task = entry.type.tasks.find((candidate) => candidate.name === taskName);
    if (!task) {
      throw new PlanError(
        'task',
        `task ${quote(taskName)} is not defined for type ${quote(entry.type.name)}`,
      );
    }
    const target = checkTarget(context.target);
    const params = this.validParams(entry, context.params, 'stored');
    if (task.runner === 'ansible-playbook') {
      return {
        name: task.name,
        runner: 'ansible-playbook',
        timeoutSeconds: task.timeoutSeconds,
        playbookPath: entry.playbookPaths.get(task.name)!,
        inventory: task.inventory ?? 'target',
      };
    }
    const values = { target, operation_id: String(context.operationId), type: entry.type.name };
    const argv = entry.argv.get(task.name)!.map((part) => {
      if (part.kind === 'literal') return part.text;
      if (part.kind !== 'param') return values[part.kind];
      return argvValue(part.name, params[part.name]);
    });
    return { name: task.name, runner: 'command', timeoutSeconds: task.timeoutSeconds, argv };
  }

  private entry(type: unknown): CatalogueEntry {
    if (typeof type !== 'string') throw new PlanError('type', 'type must be string');
    const entry = this.entries.get(type);
    if (!entry) throw new PlanError('type', `type ${quote(type)} is not in the catalogue`);
    return entry;
  }

  /** Validates a deep copy, so the caller's object is never changed; fills defaults. */
  private validParams(
    entry: CatalogueEntry,
    raw: unknown,
    form: 'clear' | 'stored',
  ): Record<string, unknown> {
    let params: unknown;
    try {
      params = raw === undefined ? {} : structuredClone(raw);
    } catch {
      throw new PlanError('params', 'params must be plain JSON data');
    }
    const validate = form === 'clear' ? entry.validateParams : entry.validateStoredParams;
    if (!validate(params)) {
      const first = validate.errors?.[0];
      const secret = form === 'stored' ? secretOf(entry, first) : undefined;
      if (secret) {
        const field = `params.${secret}`;
        throw new PlanError(
          field,
          `${field} is a secret: it must be stored sealed, as {"sealed": "<JWE>"}`,
        );
      }
      throw first ? paramsError(first) : new PlanError('params', 'params is invalid');
    }
    checkNoAnsibleMarkers(params, []);
    return params as Record<string, unknown>;
  }
}

/** The secret param a stored params error is about, if it is about one's value. */
function secretOf(entry: CatalogueEntry, error: ErrorObject | undefined): string | undefined {
  if (!error || error.keyword === 'required') return undefined;
  const [name] = pointerSegments(error.instancePath);
  return name !== undefined && entry.type.secretParams.includes(name) ? name : undefined;
}

/**
 * Ansible's JSON loader reads keys such as `__ansible_unsafe` or `__ansible_vault` as markers,
 * not data; the dispatcher refuses them, so refuse them here first, naming the field.
 */
function checkNoAnsibleMarkers(value: unknown, path: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkNoAnsibleMarkers(item, [...path, String(index)]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('__ansible')) {
        const field = fieldPath('params', [...path, key]);
        throw new PlanError(field, `${field} is a reserved name`);
      }
      checkNoAnsibleMarkers(child, [...path, key]);
    }
  }
}

function argvValue(name: string, value: unknown): string {
  const field = `params.${name}`;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new PlanError(
      field,
      `${field} must be a string, number or boolean to fill an argv element`,
    );
  }
  const text = String(value);
  if (text.includes('\0')) throw new PlanError(field, `${field} must not contain a NUL character`);
  return text;
}

/** The readiness check of an app that runs or plans from the catalogue: it is loaded, with types. */
export function catalogueReadiness(catalogue: Catalogue | undefined): () => Promise<void> {
  return async () => {
    if (!catalogue || catalogue.types().length === 0) throw new Error('no catalogue loaded');
  };
}
