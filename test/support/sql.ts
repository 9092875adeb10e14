import pg from 'pg';

/** Runs one SQL text on a fresh connection (tests set up and inspect real databases with it). */
export async function runSql<Row extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query<Row>(text, params);
  } finally {
    await client.end();
  }
}

/** The same server's URL for another database. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
