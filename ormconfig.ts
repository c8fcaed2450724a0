import 'reflect-metadata';
import { dataSourceOptions } from '@app/database';
import { DataSource } from 'typeorm';

/** The DataSource the TypeORM CLI uses (`npm run typeorm -- migration:show`). */
export default new DataSource(dataSourceOptions(process.env, 'aegir-typeorm-cli'));
