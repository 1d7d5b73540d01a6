import type { Store } from '../auth/ports.ts';
import { openSQLiteStore } from './sqlite.ts';

export { openSQLiteStore } from './sqlite.ts';
export type { SQLiteStoreOptions } from './sqlite.ts';
export { SCHEMA_VERSION } from './schema.ts';

export type DatabaseURL = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string | URL };

/** Opens the Store the configuration names. */
export function openStore(databaseURL: DatabaseURL): Promise<Store> {
  if (databaseURL.kind === 'postgres') return Promise.reject(new Error('PostgreSQL support is not available yet'));
  return openSQLiteStore(databaseURL.path);
}
