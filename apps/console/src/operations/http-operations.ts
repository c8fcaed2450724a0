import { setTimeout as sleep } from 'node:timers/promises';
import type { CatalogueListing } from '@app/catalogue';
import type { LogLineView, OperationPage, OperationView } from '@app/database';
import { ApiClient } from '../remote/api-client';
import { LogFollower } from '../live-log/log-follower';
import type { PrintOptions } from '../live-log/log-printer';
import { Operations, type CreateRequest, type ListFilter, type Watch } from './operations';

/**
 * How often `op:wait` asks GET /operations/:id. Polling rather than the operations stream:
 * a wait is one operation for minutes, and one small request a second is nothing to the
 * api; the answer carries the tasks (done/total) that the stream's events leave out; and a
 * poll needs no resume logic when the api restarts or a proxy cuts a long connection.
 */
export const API_POLL_MS = 1000;

/** The log page GET /operations/:id/log gives. */
interface LogPage {
  lines: LogLineView[];
  next: number;
}

const path = (id: string, rest = '') => `/operations/${encodeURIComponent(id)}${rest}`;

/**
 * The op:* commands against a remote api (AEGIR_API_URL + AEGIR_API_TOKEN): the api
 * validates (its 400 names the field), seals secrets, applies the token's role and scope and
 * writes the audit rows itself. Nothing here opens the database or reads the catalogue.
 */
export class HttpOperations extends Operations {
  constructor(
    private readonly api: ApiClient,
    private readonly follower: LogFollower,
  ) {
    super();
  }

  where(): string {
    return `the api at ${this.api.where()}`;
  }

  create(request: CreateRequest): Promise<OperationView> {
    return this.api.post<OperationView>('/operations', request);
  }

  list(filter: ListFilter): Promise<OperationPage> {
    return this.api.get<OperationPage>('/operations', { ...filter });
  }

  get(id: string): Promise<OperationView> {
    return this.api.get<OperationView>(path(id));
  }

  async log(id: string, after: number, limit: number): Promise<LogLineView[]> {
    return (await this.api.get<LogPage>(path(id, '/log'), { after, limit })).lines;
  }

  follow(id: string, after: number, print: PrintOptions): Promise<string> {
    return this.follower.overApi(this.api.baseUrl(), this.api.token(), id, after, print);
  }

  cancel(id: string, reason: string | undefined): Promise<OperationView> {
    return this.api.post<OperationView>(
      path(id, '/cancel'),
      reason === undefined ? {} : { reason },
    );
  }

  retry(id: string): Promise<OperationView> {
    return this.api.post<OperationView>(path(id, '/retry'));
  }

  catalogue(): Promise<CatalogueListing> {
    return this.api.get<CatalogueListing>('/catalogue');
  }

  /**
   * Polls (see API_POLL_MS). The stored count, for the progress line alone, is read from the
   * log pages after the last seq seen, so each line crosses the network once.
   */
  watch(id: string): Promise<Watch> {
    let seen = 0;
    let after = 0;
    return Promise.resolve({
      pollMs: API_POLL_MS,
      next: async (ms: number) => {
        await sleep(Math.min(ms, API_POLL_MS));
        return 'status' as const;
      },
      linesStored: async () => {
        for (;;) {
          const page = await this.api.get<LogPage>(path(id, '/log'), { after, limit: 10_000 });
          if (page.lines.length === 0) return seen;
          seen += page.lines.length;
          after = page.lines[page.lines.length - 1].seq;
        }
      },
      close: () => Promise.resolve(),
    });
  }
}
