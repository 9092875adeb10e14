/**
 * golive's heartbeat table: a source database that carries it gets one row per second from
 * `golive heartbeat run`, so a drill can tell, to the second, the newest write a backup holds.
 */
export const HEARTBEAT_TABLE = 'golive_heartbeat';
export const HEARTBEAT_SCHEMA = 'public';

/** Creates the table; safe to run again. */
export const HEARTBEAT_DDL = `CREATE TABLE IF NOT EXISTS ${HEARTBEAT_SCHEMA}.${HEARTBEAT_TABLE} (
  id      bigserial PRIMARY KEY,
  beat_at timestamptz NOT NULL DEFAULT clock_timestamp()
)`;

/** The newest heartbeat, or null when the table is empty. */
export const NEWEST_HEARTBEAT_SQL = `SELECT max(beat_at) AS newest FROM ${HEARTBEAT_SCHEMA}.${HEARTBEAT_TABLE}`;
