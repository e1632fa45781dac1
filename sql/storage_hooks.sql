--
-- storage_hooks: AsyncSeqScan and stock nodes with the storage manager hooks
-- of a server built with patches/15 (README, "Patched storage hooks").
--
-- A stock server has no hooks: there this test says so and skips the rest
-- (expected/storage_hooks.out).  On a patched server, with pg_asyncscan
-- preloaded as for this suite (expected/storage_hooks_1.out):
--  - EXPLAIN VERBOSE names the hooks, EXPLAIN ANALYZE counts what went
--    through them, and pg_asyncscan.storage_hooks = off turns them off;
--  - the buffered blocks AsyncSeqScan looks ahead at are read into staging
--    through PrefetchBuffer and handed to ReadBuffer from there, with every
--    IO method, returning what a Seq Scan returns;
--  - Bitmap Heap Scan (effective_io_concurrency) and pg_prewarm's prefetch
--    mode go through the same hook, as pg_asyncscan_stats shows.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

-- Never vacuumed: no block is all-visible.  AsyncSeqScan reads such blocks
-- directly too (their tuples judged one by one); with direct_reads off, as
-- below, every block takes the buffered path, where the hooks stage reads.
CREATE TABLE sh_t (id int, grp int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO sh_t SELECT g, g % 10, repeat(md5(g::text), 3)
FROM generate_series(1, 30000) g;
CREATE INDEX sh_t_id ON sh_t (id);
SELECT pg_relation_size('sh_t') / 8192 AS blocks \gset

-- Does EXPLAIN VERBOSE name the storage hooks?
CREATE FUNCTION hooks_named(query text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) ' || query INTO plan;
    RETURN jsonb_path_exists(plan, 'strict $.** ? (@."Storage Hooks" == "on")');
END $$;
SELECT hooks_named('SELECT * FROM sh_t') AS hooks \gset

\if :hooks
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM sh_t;
SET pg_asyncscan.storage_hooks = off;
SELECT hooks_named('SELECT * FROM sh_t') AS named_when_off;
RESET pg_asyncscan.storage_hooks;

-- evict() and scan_counters(): sql/include/helpers.sql
\i sql/include/helpers.sql

SET pg_asyncscan.enabled = off;
CREATE TEMP TABLE expected AS
    SELECT grp, count(*) AS n, sum(id) AS s, md5(string_agg(pad, ',' ORDER BY id)) AS h
    FROM sh_t GROUP BY grp;
RESET pg_asyncscan.enabled;
CREATE FUNCTION same_as_seqscan() RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (
        (SELECT grp, count(*), sum(id), md5(string_agg(pad, ',' ORDER BY id))
         FROM sh_t GROUP BY grp
         EXCEPT SELECT * FROM expected)
        UNION ALL
        (SELECT * FROM expected
         EXCEPT SELECT grp, count(*), sum(id), md5(string_agg(pad, ',' ORDER BY id))
         FROM sh_t GROUP BY grp))
$$;

-- Every IO method, out of shared buffers: every block is read into shared
-- buffers (the buffered path), most of them from staged reads, and the
-- rows are the Seq Scan's.  With the hooks off nothing is staged.
SET pg_asyncscan.direct_reads = off;
CREATE TEMP TABLE results (method text, hooks boolean, same boolean,
    all_read boolean, staged boolean, used_some boolean, used_le_staged boolean);
DO $$
DECLARE
    m text;
    h boolean;
    c jsonb;
BEGIN
    FOREACH m IN ARRAY ARRAY['sync', 'io_uring', 'worker'] LOOP
        FOREACH h IN ARRAY ARRAY[true, false] LOOP
            PERFORM set_config('pg_asyncscan.io_method', m, false);
            PERFORM set_config('pg_asyncscan.storage_hooks', h::text, false);
            CALL evict('sh_t');
            c := scan_counters('SELECT count(*) FROM sh_t');
            CALL evict('sh_t');
            INSERT INTO results VALUES (m, h, same_as_seqscan(),
                (c ->> 'Pages Read')::bigint = pg_relation_size('sh_t') / 8192,
                coalesce((c ->> 'Staged Blocks')::bigint > 0, false),
                coalesce((c ->> 'Staged Blocks Used')::bigint > 0, false),
                coalesce((c ->> 'Staged Blocks Used')::bigint
                         <= (c ->> 'Staged Blocks')::bigint, true));
        END LOOP;
    END LOOP;
END $$;
SELECT * FROM results ORDER BY method, hooks;
RESET pg_asyncscan.storage_hooks;
SET pg_asyncscan.io_method = sync;

-- EXPLAIN ANALYZE in text: the hooks' lines of the node and of the
-- statement summary, with the numbers hidden
CREATE FUNCTION hooks_lines(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    ln text;
BEGIN
    FOR ln IN EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query
    LOOP
        IF ln ~ 'Storage Hooks' THEN
            RETURN NEXT regexp_replace(ln, '=[0-9]+', '=N', 'g');
        END IF;
    END LOOP;
END $$;
CALL evict('sh_t');
SELECT * FROM hooks_lines('SELECT count(*) FROM sh_t');

-- A scan stopped by LIMIT gives back what it staged and did not use when
-- it ends, not only at the end of the transaction.
CALL evict('sh_t');
BEGIN;
SELECT pg_asyncscan_stats_reset();
SELECT count(*) FROM (SELECT id FROM sh_t LIMIT 1000) l;
SELECT staged_blocks > 0 AS limit_staged, staged_dropped > 0 AS dropped_before_commit
FROM pg_asyncscan_stats WHERE io_method = 'sync';
COMMIT;

-- Stock nodes: a Bitmap Heap Scan prefetches the heap blocks it will
-- read (effective_io_concurrency); the prefetches become staged reads,
-- and the reads that follow take them.
SET enable_seqscan = off;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET effective_io_concurrency = 32;
EXPLAIN (COSTS OFF) SELECT sum(length(pad)) FROM sh_t WHERE id BETWEEN 1000 AND 20000;
CALL evict('sh_t');
SELECT pg_asyncscan_stats_reset();
SELECT sum(length(pad)) FROM sh_t WHERE id BETWEEN 1000 AND 20000;
SELECT staged_blocks > 0 AS bitmap_staged, staged_used > 0 AS bitmap_used,
       staged_used <= staged_blocks AS used_le_staged
FROM pg_asyncscan_stats WHERE io_method = 'sync';
RESET enable_seqscan;
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET effective_io_concurrency;

-- pg_prewarm's prefetch mode prefetches every block and reads none: each
-- becomes a staged read (sync: complete at once), and all are dropped
-- unused at the end of the transaction.
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
CALL evict('sh_t');
SELECT pg_asyncscan_stats_reset();
SELECT pg_prewarm('sh_t', 'prefetch') = :blocks AS prewarm_all_blocks;
SELECT staged_blocks = :blocks AS prewarm_staged_all, staged_used AS prewarm_used,
       staged_dropped = staged_blocks AS prewarm_dropped_all
FROM pg_asyncscan_stats WHERE io_method = 'sync';

-- All-visible now: the direct path, whose reads are checked against the
-- write generations; nothing was written meanwhile, so nothing rejected.
RESET pg_asyncscan.direct_reads;
VACUUM sh_t;
CALL evict('sh_t');
SELECT (c ->> 'Pages Direct')::bigint > 0 AS direct,
       (c ->> 'Direct Rejected Written')::bigint AS rejected_written
FROM scan_counters('SELECT count(*) FROM sh_t') c;

-- back from evict()'s tablespace, which helpers_drop.sql drops
ALTER TABLE sh_t SET TABLESPACE pg_default;
DROP EXTENSION pg_prewarm;
DROP FUNCTION hooks_lines(text);
DROP FUNCTION same_as_seqscan();
\i sql/include/helpers_drop.sql
\else
\echo 'storage hooks not in use: the server lacks patches/15 (or pg_asyncscan is not preloaded); skipped'
\endif

DROP FUNCTION hooks_named(text);
DROP TABLE sh_t;
