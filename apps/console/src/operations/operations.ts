import type { CatalogueListing } from '@app/catalogue';
import type { LogLineView, OperationFilter, OperationPage, OperationView } from '@app/database';
import type { PrintOptions } from '../live-log/log-printer';

/** What `op:create` asks for: params already merged from the file, --params and -p. */
export interface CreateRequest {
  type: string;
  target: string;
  params: Record<string, unknown>;
}

/** The filters of `op:list`, as GET /operations takes them (the scope is the api's). */
export type ListFilter = Omit<OperationFilter, 'accept'>;

/** Told to `Watch.next()`'s caller: something changed (read again), or nothing did. */
export type WatchEvent = 'status' | 'lines' | 'idle';

/**
 * Watching one operation for changes while `op:wait` waits. The database's listens
 * (aegir_status, aegir_log) and polls slowly; the api's polls. Closed when the wait ends.
 */
export interface Watch {
  /** Read the operation again at least this often, even when nothing was told. */
  readonly pollMs: number;
  /** Resolves on a change, or after at most `ms` (a backend may return sooner: its poll). */
  next(ms: number): Promise<WatchEvent>;
  /** How many lines are stored so far (for the progress line); null when unknown. */
  linesStored(): Promise<number | null>;
  close(): Promise<void>;
}

/**
 * Everything the op:* and catalogue:list commands do, behind one interface: against the local
 * database and catalogue (`DatabaseOperations`), or against a remote api when AEGIR_API_URL is
 * set (`HttpOperations`). Chosen once, in ConsoleModule, from the settings; commands never ask
 * which. Every method throws CliError for what the user can act on (not found, refused, bad
 * params naming the field, unreachable).
 */
export abstract class Operations {
  /** `the database at …` / `the api at …`, for messages. */
  abstract where(): string;
  abstract create(request: CreateRequest): Promise<OperationView>;
  abstract list(filter: ListFilter): Promise<OperationPage>;
  /** The operation with its tasks; CliError `operation <id> not found`. */
  abstract get(id: string): Promise<OperationView>;
  /** A page of the log after `after` (at most `limit` lines, and about 1 MiB). */
  abstract log(id: string, after: number, limit: number): Promise<LogLineView[]>;
  /** Prints the log as it comes until the operation ends; returns the final status. */
  abstract follow(id: string, after: number, print: PrintOptions): Promise<string>;
  abstract cancel(id: string, reason: string | undefined): Promise<OperationView>;
  abstract retry(id: string): Promise<OperationView>;
  abstract catalogue(): Promise<CatalogueListing>;
  /** Starts watching one operation; `lines`: the progress line wants the stored count too. */
  abstract watch(id: string, options: { lines: boolean }): Promise<Watch>;
}
