/**
 * The sandbox's ledgers as the service runs them today (SQLite), under the name the rest of the
 * code imports them by. The definitions are in ./tables/.
 */
export * from './tables/sqlite.ts';
