import 'reflect-metadata';
import { DatabaseSettings, dataSourceOptions } from '@app/database';
import { readSettings } from '@app/platform';
import { DataSource } from 'typeorm';

/** The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:show`). */
export default new DataSource(
  dataSourceOptions(readSettings(DatabaseSettings, process.env), 'aegir-typeorm-cli'),
);
