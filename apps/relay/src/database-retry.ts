import type { Logger } from '@nestjs/common';
import { describeError, logEntry, type LogFields } from '@app/platform';

/** SQLSTATE classes that say the data is wrong (not the database): retrying cannot help. */
const DATA_ERROR_CLASSES = ['22', '23'];

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && DATA_ERROR_CLASSES.includes(code.slice(0, 2));
}

/**
 * Runs database work again and again while PostgreSQL is away, so the messages it
 * stands for stay unacked rather than lost. Data errors are thrown at once; so is any
 * error once the relay is stopping.
 */
export class DatabaseRetry {
  private stopping = false;

  constructor(
    private readonly retryMs: number,
    private readonly logger: Logger,
  ) {}

  /** `about`: the operation the work is for, when it is for one (a claim), for the log. */
  async run<T>(what: string, work: () => Promise<T>, about: LogFields = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (isDataError(error) || this.stopping) throw error;
        if (attempt === 1 || attempt % 30 === 0) {
          this.logger.warn(
            logEntry(
              `${what} not written (attempt ${attempt}), holding the batch: ${describeError(error)}`,
              about,
            ),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
  }

  stop(): void {
    this.stopping = true;
  }
}
