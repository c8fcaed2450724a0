import type { Logger } from '@nestjs/common';

/**
 * What a log line is about, as JSON fields of its own: search `operationId` to find every
 * line of an operation in every app. Only names and ids, never params or output.
 */
export interface LogFields {
  operationId?: string;
  /** The task's name in its operation type (`prepare`, `hello`). */
  task?: string;
  dispatcherId?: string;
}

/** A log entry as Nest's Logger takes it: nestjs-pino writes `msg` and each field as is. */
export type LogEntry = LogFields & { msg: string };

/**
 * The entry for `logger.log()` (or `warn`, `error`, …) of a line about `fields`; a field
 * left undefined is not written. With nestjs-pino, an object passed to Nest's Logger is
 * pino's merging object, so the fields land beside `msg` and `context`.
 */
export function logEntry(msg: string, fields: LogFields): LogEntry {
  return { msg, ...definedFields(fields) };
}

/** The log fields that are set, and nothing else an object holds. */
export function definedFields(fields: LogFields): LogFields {
  const set: LogFields = {};
  for (const key of ['operationId', 'task', 'dispatcherId'] as const) {
    if (fields[key] !== undefined) set[key] = fields[key];
  }
  return set;
}

/**
 * A Nest logger whose every line carries the same fields, e.g. one per operation a
 * dispatcher runs; `with()` adds more (the task) for one line or a narrower logger.
 */
export class FieldLogger {
  constructor(
    private readonly logger: Logger,
    readonly fields: LogFields,
  ) {}

  with(more: LogFields): FieldLogger {
    return new FieldLogger(this.logger, { ...this.fields, ...more });
  }

  log(msg: string, more: LogFields = {}): void {
    this.logger.log(this.entry(msg, more));
  }

  debug(msg: string, more: LogFields = {}): void {
    this.logger.debug(this.entry(msg, more));
  }

  warn(msg: string, more: LogFields = {}): void {
    this.logger.warn(this.entry(msg, more));
  }

  error(msg: string, more: LogFields = {}): void {
    this.logger.error(this.entry(msg, more));
  }

  private entry(msg: string, more: LogFields): LogEntry {
    return logEntry(msg, { ...this.fields, ...more });
  }
}
