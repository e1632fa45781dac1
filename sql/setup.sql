--
-- setup: install the extension into the test database.
--
-- Every later test file starts with LOAD 'pg_asyncscan': the library is
-- not preloaded, and a new session has neither the planner hook nor the
-- pg_asyncscan.* GUCs until something loads it.
--

CREATE EXTENSION pg_asyncscan;

-- io_analyze(): the EXPLAIN options under which AsyncSeqScan shows its IO
-- counters, for every later test file.  Before PostgreSQL 18 that is
-- ANALYZE; from 18 on our counters show under ANALYZE with the extension's
-- own ASYNCIO option (18's extension EXPLAIN API).  BUFFERS OFF because 18
-- shows buffer usage under ANALYZE by default and the counts vary.
CREATE FUNCTION io_analyze() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN current_setting('server_version_num')::int >= 180000
                THEN 'ANALYZE, ASYNCIO, BUFFERS OFF'
                ELSE 'ANALYZE, BUFFERS OFF' END
$$;

-- the session that ran CREATE EXTENSION has the library loaded (the
-- install script calls pg_asyncscan_version())
SELECT pg_asyncscan_version();
SHOW pg_asyncscan.enabled;

-- the extension row and every object it owns
SELECT extname, extversion, extrelocatable, n.nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'pg_asyncscan';

SELECT pg_describe_object(classid, objid, objsubid) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_asyncscan')
  AND deptype = 'e'
ORDER BY 1;

\dx+ pg_asyncscan

SELECT proname, prorettype::regtype, provolatile, proparallel, proisstrict,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p
WHERE proname = 'pg_asyncscan_version';

SELECT name, installed_version, default_version, comment
FROM pg_available_extensions WHERE name = 'pg_asyncscan';

-- The cumulative statistics: a view over a set-returning function, and a
-- reset function that only superusers (and whom they grant it to) may run
SELECT attname, atttypid::regtype
FROM pg_attribute
WHERE attrelid = 'pg_asyncscan_stats'::regclass AND attnum > 0
ORDER BY attnum;
SELECT has_table_privilege('public', 'pg_asyncscan_stats', 'SELECT') AS public_may_read,
       has_function_privilege('public', 'pg_asyncscan_stats_reset()', 'EXECUTE') AS public_may_reset;
-- They live in shared memory, which only exists when the library was
-- preloaded (shared_preload_libraries), as it is for this suite; without
-- preloading both raise an error (test/t/003_no_preload.pl).  One row per
-- IO method of the build.
SELECT pg_asyncscan_stats_reset();
SELECT io_method, scans, pages_direct + pages_hit + pages_read AS pages,
       reads, errors, stats_reset > now() - interval '1 hour' AS recent_reset
FROM pg_asyncscan_stats ORDER BY io_method;

-- A small table, to see that the planner hook is active in this session.
CREATE TABLE setup_t (id int, val text) WITH (autovacuum_enabled = off);
INSERT INTO setup_t SELECT g, 'v' || g FROM generate_series(1, 1000) g;
ANALYZE setup_t;
SET max_parallel_workers_per_gather = 0;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;
EXPLAIN (COSTS OFF) SELECT count(*) FROM setup_t;
SELECT count(*), sum(id) FROM setup_t;

-- The planner offers AsyncSeqScan only in databases where the extension is
-- installed: after DROP EXTENSION the loaded library plans Seq Scans.
DROP EXTENSION pg_asyncscan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM setup_t;
CREATE EXTENSION pg_asyncscan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM setup_t;

-- A new session of this preloaded cluster has the hook and the GUCs
-- without LOAD (sessions of a cluster without preloading need LOAD: see
-- test/t/003_no_preload.pl); LOAD of the loaded library changes nothing.
\c
SET max_parallel_workers_per_gather = 0;
SELECT count(*) > 0 AS has_asyncscan_gucs FROM pg_settings WHERE name LIKE 'pg_asyncscan.%';
LOAD 'pg_asyncscan';
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;
EXPLAIN (COSTS OFF) SELECT count(*) FROM setup_t;
SELECT count(*), sum(id) FROM setup_t;

DROP TABLE setup_t;
