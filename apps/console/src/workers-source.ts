import { Injectable } from '@nestjs/common';
import { DispatcherStore, type DispatcherFilter, type DispatcherView } from '@app/database';
import { ConsoleDatabase } from './console-database';

/**
 * Where `aegir workers` reads the dispatchers from. The one implementation today reads the
 * database; a remote one (`GET /api/v1/workers` over AEGIR_API_URL) is provided in its place
 * when the CLI drives an api.
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
