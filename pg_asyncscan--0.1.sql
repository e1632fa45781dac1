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
