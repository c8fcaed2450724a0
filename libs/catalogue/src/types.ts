/** One step of an operation type, as written in a catalogue file. */
export interface CatalogueTask {
  name: string;
  runner: 'ansible-playbook' | 'command';
  /** Seconds before the task is stopped and the operation is `timed_out`. */
  timeoutSeconds: number;
  /** ansible-playbook: path relative to PLAYBOOKS_DIR. */
  playbook?: string;
  /** ansible-playbook: run against `localhost` (connection local) or the operation's target host. */
  inventory?: 'localhost' | 'target';
  /** command: argv; an element may be exactly one placeholder like `{{ params.name }}`. */
  argv?: string[];
}

/** How often the relay starts a new attempt, on its own, of an operation that ended `lost`. */
export interface RetryPolicy {
  /** New attempts after the first one; 0 = never retried automatically. */
  attempts: number;
  /** Seconds between the loss and the new attempt's dispatch. */
  backoffSeconds: number;
}

/** An operation type: what a client may ask for, and the tasks it runs. */
export interface OperationType {
  name: string;
  description: string;
  pool: string;
  /** false: one operation at a time per target (others wait `queued`); true: may run alongside. */
  parallel: boolean;
  retry: RetryPolicy;
  /** Bytes of output (line text of all its tasks) after which the dispatcher stops it, failed. */
  maxOutputBytes: number;
  /** JSON Schema of `params`, an object schema. */
  paramsSchema: Record<string, unknown>;
  /**
   * The params declared `secret: true`: the api seals them to the pool's key, so the database,
   * the relay and the broker hold only `{ sealed }`; clients are shown `********`.
   */
  secretParams: string[];
  tasks: CatalogueTask[];
  /** The file it came from, relative to the catalogue directory. */
  file: string;
}

/** A validated request, expanded into its tasks: what the database stores. */
export interface OperationPlan {
  type: string;
  pool: string;
  target: string;
  /** Validated, with schema defaults filled in; secret ones in clear from plan(), sealed from planStored(). */
  params: Record<string, unknown>;
  tasks: { name: string; runner: CatalogueTask['runner'] }[];
  /** The type's `parallel`, negated: while it runs, no other exclusive operation on its target does. */
  exclusive: boolean;
  retry: RetryPolicy;
}

/** What the dispatcher runs for one task, with every placeholder filled in. */
export type ResolvedTask =
  | {
      name: string;
      runner: 'ansible-playbook';
      timeoutSeconds: number;
      /** Absolute, inside PLAYBOOKS_DIR. */
      playbookPath: string;
      inventory: 'localhost' | 'target';
    }
  | {
      name: string;
      runner: 'command';
      timeoutSeconds: number;
      argv: string[];
    };

/** The values a task's placeholders may name. */
export interface TaskContext {
  operationId: string;
  type: string;
  target: string;
  /** As dispatched: secret params sealed. */
  params: Record<string, unknown>;
}
