import { Injectable } from '@nestjs/common';
import { DispatcherStore, type DispatcherFilter, type DispatcherView } from '@app/database';
import { ConsoleDatabase } from './console-database';
import type { ApiClient } from './remote/api-client';

/**
 * Where `aegir workers` reads the dispatchers from: the database, or `GET /api/v1/workers`
 * when the CLI drives an api (AEGIR_API_URL); chosen once, as for `Operations`.
 */
export abstract class WorkersSource {
  abstract list(filter: DispatcherFilter): Promise<DispatcherView[]>;
}

/** Through the console's database: the same read as the api's `GET /workers`. */
@Injectable()
export class DatabaseWorkersSource extends WorkersSource {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async list(filter: DispatcherFilter): Promise<DispatcherView[]> {
    return new DispatcherStore(await this.db.dataSource()).list(filter);
  }
}

/** Through the api: its answer is the same views, scoped to the token. */
export class ApiWorkersSource extends WorkersSource {
  constructor(private readonly api: ApiClient) {
    super();
  }

  async list(filter: DispatcherFilter): Promise<DispatcherView[]> {
    const query = filter.pool === undefined ? {} : { pool: filter.pool };
    return (await this.api.get<{ items: DispatcherView[] }>('/workers', query)).items;
  }
}
