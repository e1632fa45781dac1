--
-- guc: the pg_asyncscan.* configuration parameters -- defaults, units,
-- bounds, wrong types, the reserved prefix, and that a rejected SET keeps
-- the previous value.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;

-- Defaults, types, bounds and units as pg_settings reports them.  (The
-- values of io_method depend on the build -- io_uring is offered only when
-- liburing was found -- so only "sync" is checked here.)
SELECT name, setting, unit, vartype, min_val, max_val, boot_val, context
FROM pg_settings
WHERE name LIKE 'pg_asyncscan.%'
ORDER BY name;
SELECT 'sync' = ANY (enumvals) AS sync_offered
FROM pg_settings WHERE name = 'pg_asyncscan.io_method';

-- SHOW prints block-unit parameters in the largest exact unit
SHOW pg_asyncscan.enabled;
SHOW pg_asyncscan.io_method;
SHOW pg_asyncscan.io_depth;
SHOW pg_asyncscan.io_combine_limit;
SHOW pg_asyncscan.direct_reads;
SHOW pg_asyncscan.direct_io;
SHOW pg_asyncscan.min_relation_size;

--
-- pg_asyncscan.enabled (bool)
--
SET pg_asyncscan.enabled = off;
SHOW pg_asyncscan.enabled;
SET pg_asyncscan.enabled = 'true';
SHOW pg_asyncscan.enabled;
SET pg_asyncscan.enabled = 0;
SHOW pg_asyncscan.enabled;
SET pg_asyncscan.enabled = yes;
SHOW pg_asyncscan.enabled;
-- wrong type: refused, previous value kept
SET pg_asyncscan.enabled = maybe;
SET pg_asyncscan.enabled = 2;
SHOW pg_asyncscan.enabled;
RESET pg_asyncscan.enabled;

--
-- pg_asyncscan.io_method (enum)
--
SET pg_asyncscan.io_method = sync;
SHOW pg_asyncscan.io_method;
-- enum values are matched case-insensitively
SET pg_asyncscan.io_method = 'SYNC';
SHOW pg_asyncscan.io_method;
-- unknown method (terse: the HINT lists the methods of this build)
\set VERBOSITY terse
SET pg_asyncscan.io_method = 'posix_aio';
SET pg_asyncscan.io_method = '';
SET pg_asyncscan.io_method = 1;
\set VERBOSITY default
SHOW pg_asyncscan.io_method;

--
-- pg_asyncscan.io_depth (int, 1 .. 128, no unit)
--
SET pg_asyncscan.io_depth = 1;
SHOW pg_asyncscan.io_depth;
SET pg_asyncscan.io_depth = 128;
SHOW pg_asyncscan.io_depth;
SET pg_asyncscan.io_depth = 32;
-- out of range, not a number, a unit where none is allowed: all refused,
-- and 32 stays
SET pg_asyncscan.io_depth = 0;
SET pg_asyncscan.io_depth = 129;
SET pg_asyncscan.io_depth = -1;
SET pg_asyncscan.io_depth = 'deep';
SET pg_asyncscan.io_depth = '16kB';
SHOW pg_asyncscan.io_depth;
-- a fraction is rounded, as for every integer parameter
SET pg_asyncscan.io_depth = 2.5;
SHOW pg_asyncscan.io_depth;
RESET pg_asyncscan.io_depth;
SHOW pg_asyncscan.io_depth;

--
-- pg_asyncscan.io_combine_limit (int, 1 .. 64 blocks, unit blocks)
--
-- a bare number is in blocks
SET pg_asyncscan.io_combine_limit = 1;
SHOW pg_asyncscan.io_combine_limit;
SET pg_asyncscan.io_combine_limit = 64;
SHOW pg_asyncscan.io_combine_limit;
-- memory units are converted to blocks: 128kB = 16 blocks, 512kB = 64
SET pg_asyncscan.io_combine_limit = '128kB';
SHOW pg_asyncscan.io_combine_limit;
SELECT setting, unit FROM pg_settings WHERE name = 'pg_asyncscan.io_combine_limit';
SET pg_asyncscan.io_combine_limit = '512kB';
SHOW pg_asyncscan.io_combine_limit;
SET pg_asyncscan.io_combine_limit = '24kB';
SHOW pg_asyncscan.io_combine_limit;
-- 10kB rounds to one block
SET pg_asyncscan.io_combine_limit = '10kB';
SHOW pg_asyncscan.io_combine_limit;
SET pg_asyncscan.io_combine_limit = '256kB';
-- refused: above 64 blocks, 0, rounding to 0 blocks, junk, unknown unit
SET pg_asyncscan.io_combine_limit = 65;
SET pg_asyncscan.io_combine_limit = '1MB';
SET pg_asyncscan.io_combine_limit = 0;
SET pg_asyncscan.io_combine_limit = '3kB';
SET pg_asyncscan.io_combine_limit = 'big';
SET pg_asyncscan.io_combine_limit = '16 furlongs';
SHOW pg_asyncscan.io_combine_limit;
RESET pg_asyncscan.io_combine_limit;
SHOW pg_asyncscan.io_combine_limit;

--
-- pg_asyncscan.direct_reads (bool)
--
SET pg_asyncscan.direct_reads = off;
SHOW pg_asyncscan.direct_reads;
SET pg_asyncscan.direct_reads = 'sometimes';
SHOW pg_asyncscan.direct_reads;
RESET pg_asyncscan.direct_reads;
SHOW pg_asyncscan.direct_reads;

--
-- pg_asyncscan.direct_io (bool)
--
SET pg_asyncscan.direct_io = on;
SHOW pg_asyncscan.direct_io;
SET pg_asyncscan.direct_io = 'o_direct';
SHOW pg_asyncscan.direct_io;
RESET pg_asyncscan.direct_io;
SHOW pg_asyncscan.direct_io;

--
-- pg_asyncscan.min_relation_size (int, 0 .. INT_MAX/2 blocks, unit blocks)
--
SET pg_asyncscan.min_relation_size = 0;
SHOW pg_asyncscan.min_relation_size;
SET pg_asyncscan.min_relation_size = 100;
SHOW pg_asyncscan.min_relation_size;
SET pg_asyncscan.min_relation_size = '1GB';
SHOW pg_asyncscan.min_relation_size;
SELECT setting FROM pg_settings WHERE name = 'pg_asyncscan.min_relation_size';
SET pg_asyncscan.min_relation_size = '64MB';
SHOW pg_asyncscan.min_relation_size;
-- the upper bound, INT_MAX / 2 blocks
SET pg_asyncscan.min_relation_size = 1073741823;
SHOW pg_asyncscan.min_relation_size;
SET pg_asyncscan.min_relation_size = '16MB';
-- refused, 16MB stays
SET pg_asyncscan.min_relation_size = 1073741824;
SET pg_asyncscan.min_relation_size = '8TB';
SET pg_asyncscan.min_relation_size = -1;
SET pg_asyncscan.min_relation_size = 'large';
SHOW pg_asyncscan.min_relation_size;
RESET pg_asyncscan.min_relation_size;
SHOW pg_asyncscan.min_relation_size;

--
-- The prefix is reserved: a misspelt parameter is an error, not a silent
-- placeholder.
--
SET pg_asyncscan.foo = 1;
SET pg_asyncscan.io_dept = 8;
SHOW pg_asyncscan.foo;
SELECT current_setting('pg_asyncscan.foo', true) IS NULL AS foo_missing;
SELECT count(*) AS placeholders FROM pg_settings WHERE name = 'pg_asyncscan.foo';

--
-- Transactions: an error rolls back SETs of the transaction; SET LOCAL
-- lasts until its end; set_config works as SET does.
--
SET pg_asyncscan.io_depth = 8;
BEGIN;
SET pg_asyncscan.io_depth = 4;
SHOW pg_asyncscan.io_depth;
SAVEPOINT s1;
SET pg_asyncscan.io_depth = 2;
SET pg_asyncscan.io_depth = 1000;
ROLLBACK TO SAVEPOINT s1;
SHOW pg_asyncscan.io_depth;
SET LOCAL pg_asyncscan.io_combine_limit = 4;
SHOW pg_asyncscan.io_combine_limit;
COMMIT;
-- SET (not LOCAL) survives the commit, SET LOCAL does not
SHOW pg_asyncscan.io_depth;
SHOW pg_asyncscan.io_combine_limit;
BEGIN;
SET pg_asyncscan.io_depth = 2;
SELECT 1 / 0;
ROLLBACK;
SHOW pg_asyncscan.io_depth;
SELECT set_config('pg_asyncscan.min_relation_size', '256kB', false);
SHOW pg_asyncscan.min_relation_size;
SELECT set_config('pg_asyncscan.io_depth', '200', false);
SHOW pg_asyncscan.io_depth;

-- RESET ALL restores every default
RESET ALL;
SELECT name, setting FROM pg_settings
WHERE name LIKE 'pg_asyncscan.%' AND setting IS DISTINCT FROM boot_val
ORDER BY name;

-- Every parameter has context "user": a role without any privileges may
-- set them for its session.
CREATE ROLE regress_asyncscan_user;
SET ROLE regress_asyncscan_user;
SET pg_asyncscan.enabled = off;
SET pg_asyncscan.io_depth = 4;
SET pg_asyncscan.io_combine_limit = '32kB';
SET pg_asyncscan.direct_reads = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;
SET pg_asyncscan.direct_io = on;
SELECT name, setting FROM pg_settings
WHERE name LIKE 'pg_asyncscan.%' AND setting IS DISTINCT FROM boot_val
ORDER BY name;
RESET ROLE;
RESET ALL;
DROP ROLE regress_asyncscan_user;
