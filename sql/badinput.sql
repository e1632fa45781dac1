--
-- badinput: malformed, out-of-range and hostile input to everything
-- pg_asyncscan adds -- its settings, its SQL functions and view -- and what
-- a role without privileges can (not) do through them.
--
-- guc.sql checks each setting's range and units with ordinary values via
-- SET, and security.sql row level security, security barriers and a table
-- without any privilege.  This file adds the rest: every setting given
-- hostile values through every way of setting it (SET, SET LOCAL,
-- set_config(), ALTER ROLE / ALTER DATABASE ... SET, which validate too),
-- the server-start settings, RESET / DEFAULT, the SQL functions given
-- arguments and NULLs, and for a non-superuser: the reset function, column
-- privileges and cached plans under AsyncSeqScan, what the statistics view
-- and the worker status expose, and the settings it may not change.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;

CREATE ROLE regress_asyncscan_bi;

-- bi_settings(): every pg_asyncscan.* setting of the session on one line
CREATE FUNCTION bi_settings() RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(replace(name, 'pg_asyncscan.', '') || '=' || setting, ' ' ORDER BY name)
    FROM pg_settings WHERE name LIKE 'pg_asyncscan.%'
$$;

-- bi_stored(): pg_asyncscan settings stored for the test role or for this
-- database (ALTER ROLE / ALTER DATABASE ... SET)
CREATE FUNCTION bi_stored() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*)
    FROM pg_db_role_setting s, unnest(s.setconfig) AS c(setting)
    WHERE (s.setrole = 'regress_asyncscan_bi'::regrole
           OR s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
      AND c.setting ILIKE '%asyncscan%'
$$;

-- bi_attempt(stmt): run stmt; "accepted", or the error's SQLSTATE, message
-- and detail/hint
CREATE FUNCTION bi_attempt(stmt text, OUT state text, OUT msg text, OUT info text)
LANGUAGE plpgsql AS $$
DECLARE
    d text;
    h text;
BEGIN
    EXECUTE stmt;
    state := 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    info := nullif(concat_ws(' / ', nullif(d, ''), nullif(h, '')), '');
END;
$$;

-- bi_show(s): a value or message fit for one output line: newlines shown
-- as \n, long ones cut (with their length)
CREATE FUNCTION bi_show(s text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN length(s) > 120
                THEN left(replace(s, E'\n', '\n'), 60) || format('... (%s chars)', length(s))
                ELSE replace(s, E'\n', '\n') END
$$;

-- bi_accept(guc, val): SET the value; the setting it became
CREATE FUNCTION bi_accept(guc text, val text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET %I = %L', guc, val);
    RETURN current_setting(guc);
END;
$$;

-- bi_check(guc, val): give the value to the parameter in all six ways a
-- user can.  Returns the error of the plain SET, in how many of the six
-- ways exactly that error came (6: all refused it alike), and whether the
-- session's settings and the stored settings are what they were before.
CREATE FUNCTION bi_check(guc text, val text,
                         OUT state text, OUT message text, OUT info text,
                         OUT refused int, OUT kept boolean)
LANGUAGE plpgsql AS $$
DECLARE
    before_settings text := bi_settings();
    before_stored bigint := bi_stored();
    first record;
    r record;
    stmt text;
BEGIN
    refused := 0;
    FOREACH stmt IN ARRAY ARRAY[
        format('SET %I = %L', guc, val),
        format('SET LOCAL %I = %L', guc, val),
        format('SELECT set_config(%L, %L, false)', guc, val),
        format('SELECT set_config(%L, %L, true)', guc, val),
        format('ALTER ROLE regress_asyncscan_bi SET %I = %L', guc, val),
        format('ALTER DATABASE %I SET %I = %L', current_database(), guc, val)]
    LOOP
        r := bi_attempt(stmt);
        IF first IS NULL THEN
            first := r;
        END IF;
        IF r.state <> 'accepted' AND r.state = first.state AND r.msg = first.msg THEN
            refused := refused + 1;
        END IF;
    END LOOP;
    state := first.state;
    message := bi_show(first.msg);
    info := first.info;
    kept := bi_settings() = before_settings AND bi_stored() = before_stored;
END;
$$;

--
-- 1. Settings
--
-- Every user-settable parameter gets a value other than its default first
-- (the enum in another case: enum values are case-insensitive), so that a
-- rejected value visibly leaves the previous one, not the default.
SET pg_asyncscan.enabled = off;
SET pg_asyncscan.io_method = 'WORKER';
SET pg_asyncscan.io_depth = 7;
SET pg_asyncscan.io_combine_limit = '24kB';
SET pg_asyncscan.direct_reads = off;
SET pg_asyncscan.direct_io = on;
SET pg_asyncscan.min_relation_size = '1.5MB';
SELECT bi_settings();
SELECT bi_stored();

-- Each of these values is refused by SET, SET LOCAL, set_config() (session
-- and local), ALTER ROLE ... SET and ALTER DATABASE ... SET with the same
-- clear error (refused = 6), and none changes a setting or stores one
-- (kept).  The server-start parameters refuse every value, valid or not.
-- (The hint for io_method lists the methods of the build: sync, io_uring
-- and worker, which this suite requires.)
SELECT c.n, replace(c.guc, 'pg_asyncscan.', '') AS guc, bi_show(c.val) AS value,
       r.state, r.message, r.info, r.refused, r.kept
FROM (VALUES
    -- enabled (bool)
    (1, 'pg_asyncscan.enabled', ''),
    (2, 'pg_asyncscan.enabled', 'o'),
    (3, 'pg_asyncscan.enabled', ' on'),
    (4, 'pg_asyncscan.enabled', 'on '),
    (5, 'pg_asyncscan.enabled', '1.5'),
    (6, 'pg_asyncscan.enabled', '-1'),
    (7, 'pg_asyncscan.enabled', 'null'),
    (8, 'pg_asyncscan.enabled', E'on\n'),
    (9, 'pg_asyncscan.enabled', 'on''; RESET ALL; --'),
    (10, 'pg_asyncscan.enabled', repeat('on', 500000)),
    -- io_method (enum)
    (11, 'pg_asyncscan.io_method', 'io-uring'),
    (12, 'pg_asyncscan.io_method', 'sync '),
    (13, 'pg_asyncscan.io_method', ' sync'),
    (14, 'pg_asyncscan.io_method', E'sync\n'),
    (15, 'pg_asyncscan.io_method', E'sync\\0'),
    (16, 'pg_asyncscan.io_method', 'sync,worker'),
    (17, 'pg_asyncscan.io_method', 'default'),
    (18, 'pg_asyncscan.io_method', '0'),
    (19, 'pg_asyncscan.io_method', 'sync''; DROP TABLE pg_class; --'),
    (20, 'pg_asyncscan.io_method', '"sync"'),
    (21, 'pg_asyncscan.io_method', repeat('sync', 250000)),
    -- io_depth (int, 1 .. 128)
    (22, 'pg_asyncscan.io_depth', '-0'),
    (23, 'pg_asyncscan.io_depth', '0.4'),
    (24, 'pg_asyncscan.io_depth', '128.6'),
    (25, 'pg_asyncscan.io_depth', '0x81'),
    (26, 'pg_asyncscan.io_depth', '2147483647'),
    (27, 'pg_asyncscan.io_depth', '2147483648'),
    (28, 'pg_asyncscan.io_depth', '-2147483648'),
    (29, 'pg_asyncscan.io_depth', '-2147483649'),
    (30, 'pg_asyncscan.io_depth', '99999999999999999999'),
    (31, 'pg_asyncscan.io_depth', '1e10'),
    (32, 'pg_asyncscan.io_depth', '-1e10'),
    (33, 'pg_asyncscan.io_depth', 'NaN'),
    (34, 'pg_asyncscan.io_depth', 'Infinity'),
    (35, 'pg_asyncscan.io_depth', ''),
    (36, 'pg_asyncscan.io_depth', 'abc'),
    (37, 'pg_asyncscan.io_depth', 'true'),
    (38, 'pg_asyncscan.io_depth', '0x'),
    (39, 'pg_asyncscan.io_depth', '1_0'),
    (40, 'pg_asyncscan.io_depth', '4 4'),
    (41, 'pg_asyncscan.io_depth', '4; SELECT pg_sleep(10)'),
    (42, 'pg_asyncscan.io_depth', '5ms'),
    (43, 'pg_asyncscan.io_depth', '1kB'),
    (44, 'pg_asyncscan.io_depth', repeat('9', 1000000)),
    -- io_combine_limit (int, 1 .. 64 blocks of 8kB)
    (45, 'pg_asyncscan.io_combine_limit', '-1'),
    (46, 'pg_asyncscan.io_combine_limit', '-1kB'),
    (47, 'pg_asyncscan.io_combine_limit', '100B'),
    (48, 'pg_asyncscan.io_combine_limit', '0.4'),
    (49, 'pg_asyncscan.io_combine_limit', '520kB'),
    (50, 'pg_asyncscan.io_combine_limit', '1.5e1MB'),
    (51, 'pg_asyncscan.io_combine_limit', '99999999999999999999kB'),
    (52, 'pg_asyncscan.io_combine_limit', '8KB'),
    (53, 'pg_asyncscan.io_combine_limit', '8 kb'),
    (54, 'pg_asyncscan.io_combine_limit', '1 blocks'),
    (55, 'pg_asyncscan.io_combine_limit', '5ms'),
    (56, 'pg_asyncscan.io_combine_limit', '16kB16'),
    (57, 'pg_asyncscan.io_combine_limit', 'NaN kB'),
    (58, 'pg_asyncscan.io_combine_limit', 'inf'),
    (59, 'pg_asyncscan.io_combine_limit', ''),
    -- direct_reads, direct_io (bool)
    (60, 'pg_asyncscan.direct_reads', ''),
    (61, 'pg_asyncscan.direct_reads', 'enable'),
    (62, 'pg_asyncscan.direct_reads', '0.5'),
    (63, 'pg_asyncscan.direct_reads', 'off'''),
    (64, 'pg_asyncscan.direct_io', ''),
    (65, 'pg_asyncscan.direct_io', 'O_DIRECT'),
    (66, 'pg_asyncscan.direct_io', '2'),
    (67, 'pg_asyncscan.direct_io', 'yes please'),
    -- min_relation_size (int, 0 .. 1073741823 blocks of 8kB)
    (68, 'pg_asyncscan.min_relation_size', '-8kB'),
    (69, 'pg_asyncscan.min_relation_size', '-2147483648'),
    (70, 'pg_asyncscan.min_relation_size', '9999999TB'),
    (71, 'pg_asyncscan.min_relation_size', '1e100'),
    (72, 'pg_asyncscan.min_relation_size', '-1e100'),
    (73, 'pg_asyncscan.min_relation_size', '1 h'),
    (74, 'pg_asyncscan.min_relation_size', '1kb'),
    (75, 'pg_asyncscan.min_relation_size', '1MB1'),
    (76, 'pg_asyncscan.min_relation_size', '16 MB MB'),
    (77, 'pg_asyncscan.min_relation_size', ''),
    (78, 'pg_asyncscan.min_relation_size', 'abc'),
    -- the server-start parameters: valid and invalid values alike
    (79, 'pg_asyncscan.io_workers', '4'),
    (80, 'pg_asyncscan.io_workers', '3'),
    (81, 'pg_asyncscan.io_workers', '0'),
    (82, 'pg_asyncscan.io_workers', '-1'),
    (83, 'pg_asyncscan.io_workers', 'abc'),
    (84, 'pg_asyncscan.io_workers', ''),
    (85, 'pg_asyncscan.worker_arena_size', '32MB'),
    (86, 'pg_asyncscan.worker_arena_size', '1kB'),
    (87, 'pg_asyncscan.worker_arena_size', '2GB'),
    (88, 'pg_asyncscan.worker_arena_size', 'huge'),
    -- hostile parameter names
    (89, 'pg_asyncscan.io_depth; DROP TABLE pg_class; --', '1'),
    (90, 'pg_asyncscan.io_depth ', '1'),
    (91, 'pg_asyncscan.', '1'),
    (92, 'pg_asyncscan..io_depth', '1'),
    (93, 'pg_asyncscan.io_depth.x', '1')
) AS c(n, guc, val)
CROSS JOIN LATERAL bi_check(c.guc, c.val) AS r
ORDER BY c.n;

-- nothing changed, nothing stored
SELECT bi_settings();
SELECT bi_stored();

-- a parameter name of 1000 characters (through set_config(): SQL
-- identifiers would be cut to 63 characters before the check)
SELECT state, bi_show(msg) AS message, info
FROM bi_attempt(format('SELECT set_config(%L, %L, false)', 'pg_asyncscan.' || repeat('x', 1000), '1'));

-- The same through plain statements, where the syntax itself is the bad
-- input: lists, SQL NULL, NUL characters, a SET LOCAL in a transaction
SET pg_asyncscan.io_method = sync, worker;
SET pg_asyncscan.io_depth = 1, 2;
SET pg_asyncscan.io_depth = null;
SELECT set_config('pg_asyncscan.io_method', 'sync' || chr(0), false);
SELECT (bi_attempt($$SET pg_asyncscan.io_method = E'sync\0'$$)).state;
SELECT set_config(NULL, '1', false);
BEGIN;
SET LOCAL pg_asyncscan.io_depth = 9;
SHOW pg_asyncscan.io_depth;
SET LOCAL pg_asyncscan.io_depth = 'deep';
ROLLBACK;
SHOW pg_asyncscan.io_depth;
BEGIN;
SET LOCAL pg_asyncscan.io_workers = 4;
ROLLBACK;
SELECT bi_settings();

-- The server-start parameters cannot be reset or set to their default in
-- a session either, by any statement.
RESET pg_asyncscan.io_workers;
SET pg_asyncscan.io_workers TO DEFAULT;
SET SESSION pg_asyncscan.worker_arena_size = DEFAULT;
RESET pg_asyncscan.worker_arena_size;
SELECT set_config('pg_asyncscan.io_workers', NULL, false);
-- ALTER SYSTEM validates them (nothing is written when it refuses)
ALTER SYSTEM SET pg_asyncscan.io_workers = 0;
ALTER SYSTEM SET pg_asyncscan.io_workers = 33;
ALTER SYSTEM SET pg_asyncscan.worker_arena_size = '1023kB';
ALTER SYSTEM SET pg_asyncscan.worker_arena_size = '2GB';
ALTER SYSTEM SET pg_asyncscan.io_depth = 129;
\set VERBOSITY terse
ALTER SYSTEM SET pg_asyncscan.io_method = 'posix_aio';
\set VERBOSITY default
SHOW pg_asyncscan.io_workers;
SHOW pg_asyncscan.worker_arena_size;
SELECT bi_settings();

-- Accepted, and what they become: PostgreSQL's own rules for integer,
-- boolean and enum parameters (surrounding blanks, octal and hex, exponents
-- and fractions rounded half to even, unique prefixes of on/off,
-- case-insensitive enum values and parameter names, quoted identifiers),
-- shown here so that a change of them is seen.
SELECT c.n, c.guc, bi_show(c.val) AS value, bi_accept(c.guc, c.val) AS became
FROM (VALUES
    (1, 'pg_asyncscan.io_depth', ' 8 '),
    (2, 'pg_asyncscan.io_depth', E'9\n'),
    (3, 'pg_asyncscan.io_depth', '010'),
    (4, 'pg_asyncscan.io_depth', '0x10'),
    (5, 'pg_asyncscan.io_depth', '1e2'),
    (6, 'pg_asyncscan.io_depth', '128.5'),
    (7, 'pg_asyncscan.io_depth', '1.5'),
    (8, 'pg_asyncscan.io_combine_limit', '513kB'),
    (9, 'pg_asyncscan.io_combine_limit', '0.5MB'),
    (10, 'pg_asyncscan.min_relation_size', '4kB'),
    (11, 'pg_asyncscan.min_relation_size', '1 MB'),
    (12, 'pg_asyncscan.min_relation_size', '1e3kB'),
    (13, 'pg_asyncscan.enabled', 'of'),
    (14, 'pg_asyncscan.enabled', 'TRUE'),
    (15, 'pg_asyncscan.direct_reads', 'Yes'),
    (16, 'pg_asyncscan.direct_io', '0'),
    (17, 'pg_asyncscan.io_method', 'Sync'),
    (18, 'PG_ASYNCSCAN.IO_METHOD', 'worker'),
    (19, 'Pg_AsyncScan.Io_Depth', '3')
) AS c(n, guc, val)
ORDER BY c.n;
SET pg_asyncscan.io_method = "SYNC";
SHOW pg_asyncscan.io_method;

-- ALTER ROLE ... SET stores a valid value as it was written (a session
-- parses it again when it applies it).  An io_method that this backend
-- could not use is accepted there too (it falls back to sync at first use,
-- see README), so only the value's form is checked.
ALTER ROLE regress_asyncscan_bi SET pg_asyncscan.io_method = 'IO_URING';
ALTER ROLE regress_asyncscan_bi SET pg_asyncscan.io_depth = '0x10';
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'regress_asyncscan_bi'::regrole;
ALTER ROLE regress_asyncscan_bi RESET ALL;
SELECT bi_stored();

-- RESET, SET ... TO DEFAULT, SET ... = DEFAULT and set_config(name, NULL)
-- go back to the default, SET LOCAL ... TO DEFAULT until the end of the
-- transaction; RESET ALL then leaves nothing set.
SET pg_asyncscan.enabled = off;
SET pg_asyncscan.io_method = sync;
SET pg_asyncscan.io_depth = 7;
SET pg_asyncscan.io_combine_limit = '24kB';
SET pg_asyncscan.direct_reads = off;
SET pg_asyncscan.direct_io = on;
SET pg_asyncscan.min_relation_size = '1.5MB';
SELECT name, setting = boot_val AS is_default
FROM pg_settings WHERE name LIKE 'pg_asyncscan.%' ORDER BY name;
RESET pg_asyncscan.enabled;
SET pg_asyncscan.io_method = DEFAULT;
SET pg_asyncscan.io_depth TO DEFAULT;
SET SESSION pg_asyncscan.io_combine_limit = DEFAULT;
SELECT set_config('pg_asyncscan.direct_reads', NULL, false);
BEGIN;
SET LOCAL pg_asyncscan.direct_io TO DEFAULT;
SHOW pg_asyncscan.direct_io;
COMMIT;
SHOW pg_asyncscan.direct_io;
SELECT name, setting = boot_val AS is_default
FROM pg_settings WHERE name LIKE 'pg_asyncscan.%' ORDER BY name;
RESET ALL;
SELECT name, setting FROM pg_settings
WHERE name LIKE 'pg_asyncscan.%' AND setting IS DISTINCT FROM boot_val
ORDER BY name;

--
-- 2. The SQL functions and the view
--
-- None takes an argument, none runs as its owner, none carries settings
SELECT p.proname, p.pronargs, p.proisstrict, p.proretset, p.provolatile,
       p.prosecdef, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_asyncscan')
ORDER BY p.proname;

-- Arguments, NULL or not, find no function; the errors are terse here
-- (the wording of the hint differs between PostgreSQL versions)
\set VERBOSITY terse
SELECT pg_asyncscan_version(NULL);
SELECT pg_asyncscan_version('0.1');
SELECT pg_asyncscan_stats(NULL);
SELECT * FROM pg_asyncscan_stats('sync');
SELECT pg_asyncscan_stats_reset(NULL);
SELECT pg_asyncscan_stats_reset(now());
SELECT pg_asyncscan_worker_status(NULL);
SELECT * FROM pg_asyncscan_worker_status(0);
-- a column definition list, a set-returning function where no set fits
SELECT * FROM pg_asyncscan_stats() AS t(io_method text);
SELECT * FROM pg_asyncscan_worker_status() AS t(io_workers int);
SELECT 1 WHERE pg_asyncscan_stats() IS NOT NULL;
-- the view is read-only, for the superuser too
INSERT INTO pg_asyncscan_stats (io_method, scans) VALUES ('sync', -1);
UPDATE pg_asyncscan_stats SET scans = 0;
DELETE FROM pg_asyncscan_stats;
TRUNCATE pg_asyncscan_stats;
\set VERBOSITY default
-- and everything still answers: one row per IO method of the build, and
-- a worker status with the configured workers running and an idle arena
-- of worker_arena_size in slots of 128 kB (no scan runs now)
SELECT array_agg(io_method ORDER BY io_method) AS methods
FROM pg_asyncscan_stats;
SELECT io_workers = current_setting('pg_asyncscan.io_workers')::int AS configured_workers,
       arena_slots = pg_size_bytes(current_setting('pg_asyncscan.worker_arena_size'))
                     / (128 * 1024) AS slots_of_the_arena,
       free_slots = arena_slots AS all_free,
       queued, running, owners
FROM pg_asyncscan_worker_status();
SELECT pg_asyncscan_version() FROM generate_series(1, 2);

--
-- 3. A role without privileges
--
SET pg_asyncscan.io_method = sync;
SET pg_asyncscan.min_relation_size = 0;

-- bi_asyncscan(query): whether the plan of query has an AsyncSeqScan node
-- (EXPLAIN runs with the privileges of the caller)
CREATE FUNCTION bi_asyncscan(query text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || query INTO plan;
    RETURN jsonb_path_exists(plan, 'strict $.** ? (@."Custom Plan Provider" == "AsyncSeqScan")');
END;
$$;
-- bi_scans(): scans counted so far by the statistics of io_method sync
CREATE FUNCTION bi_scans() RETURNS bigint
LANGUAGE sql AS $$
    SELECT scans FROM pg_asyncscan_stats WHERE io_method = 'sync'
$$;

-- bi_cols: the role may read the columns id and pub, not hidden;
-- bi_none: nothing at all
CREATE TABLE bi_cols (id int, pub text, hidden text) WITH (autovacuum_enabled = off);
INSERT INTO bi_cols SELECT g, 'pub ' || g, 'hidden ' || g FROM generate_series(1, 5000) g;
CREATE TABLE bi_none (id int, secret text) WITH (autovacuum_enabled = off);
INSERT INTO bi_none SELECT g, 'secret ' || g FROM generate_series(1, 2000) g;
VACUUM ANALYZE bi_cols, bi_none;
GRANT SELECT (id, pub) ON bi_cols TO regress_asyncscan_bi;
-- the superuser's plans of both are AsyncSeqScans
SELECT bi_asyncscan('SELECT * FROM bi_cols') AS cols, bi_asyncscan('SELECT * FROM bi_none') AS none;
-- a plan cached by the superuser, and run by the role below
PREPARE bi_cached AS SELECT count(*), sum(id) FROM bi_none;
EXECUTE bi_cached;

SET ROLE regress_asyncscan_bi;

-- The reset function is not the role's, nor can it grant it to itself
SELECT pg_asyncscan_stats_reset();
SELECT * FROM pg_asyncscan_stats_reset();
GRANT EXECUTE ON FUNCTION pg_asyncscan_stats_reset() TO regress_asyncscan_bi;
-- nor change the extension's objects
\set VERBOSITY terse
DROP EXTENSION pg_asyncscan;
DROP VIEW pg_asyncscan_stats;
ALTER FUNCTION pg_asyncscan_worker_status() OWNER TO regress_asyncscan_bi;
REVOKE EXECUTE ON FUNCTION pg_asyncscan_stats_reset() FROM PUBLIC;
\set VERBOSITY default

-- The server-start parameters: no SET, no stored setting, no ALTER SYSTEM
-- (not even of the user-settable ones); the role may store its own
-- defaults for the user-settable parameters, validated as above.
SET pg_asyncscan.io_workers = 8;
SET pg_asyncscan.worker_arena_size = '64MB';
SELECT set_config('pg_asyncscan.io_workers', '8', false);
ALTER ROLE regress_asyncscan_bi SET pg_asyncscan.io_workers = 8;
ALTER ROLE regress_asyncscan_bi SET pg_asyncscan.worker_arena_size = '64MB';
ALTER ROLE regress_asyncscan_bi SET pg_asyncscan.io_depth = 400;
ALTER SYSTEM SET pg_asyncscan.io_workers = 8;
ALTER SYSTEM SET pg_asyncscan.worker_arena_size = '64MB';
ALTER SYSTEM SET pg_asyncscan.io_depth = 4;
ALTER SYSTEM SET pg_asyncscan.enabled = off;
ALTER SYSTEM RESET ALL;
ALTER DATABASE contrib_regression SET pg_asyncscan.io_depth = 4;
ALTER ROLE regress_asyncscan_bi SET pg_asyncscan.io_depth = 4;
SHOW pg_asyncscan.io_workers;
SHOW pg_asyncscan.worker_arena_size;
RESET ROLE;
SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'regress_asyncscan_bi'::regrole;
ALTER ROLE regress_asyncscan_bi RESET ALL;
SET ROLE regress_asyncscan_bi;

-- What the statistics view and the worker status expose: per IO method
-- counters (the only text is the method's name) and counts of the IO
-- workers' arena -- no relation, database, role, query or process.  The
-- role may read the view; the worker status reads the workers' shared
-- state under their lock, so it is for superusers and pg_read_all_stats.
SELECT a.attname, a.atttypid::regtype
FROM pg_attribute a
WHERE a.attrelid = 'pg_asyncscan_stats'::regclass AND a.attnum > 0
  AND a.atttypid NOT IN ('bigint'::regtype, 'double precision'::regtype,
                         'timestamp with time zone'::regtype);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE io_method <> ALL (SELECT unnest(enumvals) FROM pg_settings
                                                WHERE name = 'pg_asyncscan.io_method')) AS not_a_method
FROM pg_asyncscan_stats;
SELECT unnest(proargnames) AS column_name, unnest(proallargtypes)::regtype AS type
FROM pg_proc WHERE proname = 'pg_asyncscan_worker_status';
\set VERBOSITY terse
SELECT count(*) AS rows FROM pg_asyncscan_worker_status();
\set VERBOSITY default
RESET ROLE;
GRANT pg_read_all_stats TO regress_asyncscan_bi;
SET ROLE regress_asyncscan_bi;
SELECT count(*) AS rows FROM pg_asyncscan_worker_status();
RESET ROLE;
REVOKE pg_read_all_stats FROM regress_asyncscan_bi;
SET ROLE regress_asyncscan_bi;

-- Column privileges under AsyncSeqScan: the permitted columns are read by
-- an AsyncSeqScan, and give what a Seq Scan gives
SELECT bi_scans() AS scans_before \gset
SELECT bi_asyncscan('SELECT id, pub FROM bi_cols') AS asyncscan;
SELECT count(*), sum(id), md5(string_agg(pub, ',' ORDER BY id)) FROM bi_cols;
SELECT bi_scans() - :scans_before AS scans_counted;
SET pg_asyncscan.enabled = off;
SELECT count(*), sum(id), md5(string_agg(pub, ',' ORDER BY id)) FROM bi_cols;
RESET pg_asyncscan.enabled;
SELECT count(*) FROM bi_cols;
-- any use of the other column, or of the whole row, is refused -- and
-- refused before any scan starts (the statistics count none of them)
SELECT bi_scans() AS scans_before \gset
SELECT hidden FROM bi_cols LIMIT 1;
SELECT * FROM bi_cols LIMIT 1;
SELECT count(*) FROM bi_cols WHERE hidden IS NOT NULL;
SELECT id FROM bi_cols ORDER BY hidden LIMIT 1;
SELECT b FROM bi_cols b LIMIT 1;
SELECT count(*) FROM bi_cols b WHERE b IS NOT NULL;
SELECT count(*) FROM bi_cols WHERE length(hidden) > 0 OR id > 0;
SELECT id FROM bi_cols WHERE id = 1 UNION ALL SELECT length(hidden) FROM bi_cols WHERE id = 1;
EXPLAIN (COSTS OFF) SELECT hidden FROM bi_cols;
COPY (SELECT hidden FROM bi_cols) TO STDOUT;
SELECT bi_asyncscan('SELECT hidden FROM bi_cols');
-- the table without privileges, in ways security.sql does not try
SELECT EXISTS (SELECT 1 FROM bi_none);
SELECT count(*) FROM bi_cols JOIN bi_none USING (id);
WITH s AS (SELECT * FROM bi_none) SELECT count(*) FROM s;
BEGIN;
DECLARE bi_cur CURSOR FOR SELECT * FROM bi_none;
ROLLBACK;
-- the superuser's cached AsyncSeqScan plan is checked at execution
EXECUTE bi_cached;
SELECT bi_scans() - :scans_before AS scans_counted;
RESET ROLE;

-- A privilege revoked after the role has prepared a statement takes
-- effect at its next execution
GRANT SELECT ON bi_none TO regress_asyncscan_bi;
SET ROLE regress_asyncscan_bi;
PREPARE bi_role_cached AS SELECT count(*), sum(id) FROM bi_none;
SELECT bi_asyncscan('EXECUTE bi_role_cached') AS asyncscan;
EXECUTE bi_role_cached;
RESET ROLE;
REVOKE SELECT ON bi_none FROM regress_asyncscan_bi;
SET ROLE regress_asyncscan_bi;
EXECUTE bi_role_cached;
RESET ROLE;
-- and granted the reset function, the role may reset the statistics
GRANT EXECUTE ON FUNCTION pg_asyncscan_stats_reset() TO regress_asyncscan_bi;
SET ROLE regress_asyncscan_bi;
SELECT pg_asyncscan_stats_reset();
SELECT sum(scans) AS scans_after_reset FROM pg_asyncscan_stats;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pg_asyncscan_stats_reset() FROM regress_asyncscan_bi;
SELECT has_function_privilege('regress_asyncscan_bi', 'pg_asyncscan_stats_reset()', 'EXECUTE') AS may_reset;

-- nothing of this test stays behind in the role's or database's settings
SELECT bi_stored();

DEALLOCATE bi_cached;
DEALLOCATE bi_role_cached;
RESET ALL;
DROP TABLE bi_cols, bi_none;
DROP FUNCTION bi_check(text, text), bi_accept(text, text), bi_attempt(text), bi_show(text), bi_settings(),
    bi_stored(), bi_asyncscan(text), bi_scans();
DROP ROLE regress_asyncscan_bi;
