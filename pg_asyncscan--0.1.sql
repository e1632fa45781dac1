/* pg_asyncscan--0.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_asyncscan" to load this file. \quit

-- Calling a function of the library loads it into the session that runs
-- CREATE EXTENSION, so the planner hook is active there at once.  Other
-- sessions load it through shared_preload_libraries,
-- session_preload_libraries or LOAD (see README.md).
CREATE FUNCTION pg_asyncscan_version()
RETURNS text
AS 'MODULE_PATHNAME', 'pg_asyncscan_version'
LANGUAGE C STRICT PARALLEL SAFE;

COMMENT ON FUNCTION pg_asyncscan_version() IS
'version of the loaded pg_asyncscan library; loads the library into the session';

SELECT pg_asyncscan_version();

-- Cumulative IO statistics per IO method (needs shared_preload_libraries)
CREATE FUNCTION pg_asyncscan_stats(
    OUT io_method text,
    OUT scans bigint,
    OUT pages_direct bigint,
    OUT pages_hit bigint,
    OUT pages_read bigint,
    OUT reads bigint,
    OUT read_bytes bigint,
    OUT waits bigint,
    OUT wait_time double precision,
    OUT fallbacks bigint,
    OUT direct_rejected bigint,
    OUT errors bigint,
    OUT staged_blocks bigint,
    OUT staged_used bigint,
    OUT staged_dropped bigint,
    OUT generation_rejected bigint,
    OUT stats_reset timestamp with time zone
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_asyncscan_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pg_asyncscan_stats AS
  SELECT * FROM pg_asyncscan_stats();

GRANT SELECT ON pg_asyncscan_stats TO PUBLIC;

COMMENT ON VIEW pg_asyncscan_stats IS
'cumulative AsyncSeqScan IO statistics per IO method, since the last reset';

CREATE FUNCTION pg_asyncscan_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_asyncscan_stats_reset'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- like pg_stat_statements_reset(): superusers, and whom they grant it to
REVOKE ALL ON FUNCTION pg_asyncscan_stats_reset() FROM PUBLIC;

-- State of the IO workers' queue and arena (needs shared_preload_libraries)
CREATE FUNCTION pg_asyncscan_worker_status(
    OUT io_workers integer,
    OUT arena_slots integer,
    OUT free_slots integer,
    OUT queued integer,
    OUT running integer,
    OUT owners integer
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_asyncscan_worker_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- It reads the workers' shared state under their lock: like
-- pg_stat_statements' details, for superusers and pg_read_all_stats
REVOKE ALL ON FUNCTION pg_asyncscan_worker_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_asyncscan_worker_status() TO pg_read_all_stats;
