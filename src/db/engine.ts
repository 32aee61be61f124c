/** The storage engines: SQLite, the embedded default, and PostgreSQL, for several hosts. */
export type Engine = 'sqlite' | 'postgres';
