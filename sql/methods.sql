--
-- methods: every IO method returns exactly the Seq Scan's rows, with and
-- without O_DIRECT, and its counters add up -- per node in EXPLAIN
-- (ANALYZE, FORMAT JSON), for the statement, and in pg_asyncscan_stats.
--
-- This suite's cluster preloads the library, so the worker method (IO
-- worker processes) and the statistics view are available.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;

-- 2000 blocks: about 16 MB, one row per 8 rows... wide enough to make
-- many reads of every size.
CREATE TABLE mt (id int, grp int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO mt SELECT g, g % 13, repeat(md5(g::text), 6)
FROM generate_series(1, 40000) g;
VACUUM (FREEZE) mt;
-- a few blocks not all-visible: the buffered path too
UPDATE mt SET pad = 'updated' WHERE id % 5000 = 0;
SELECT pg_relation_size('mt') / 8192 AS blocks \gset

-- Out of shared buffers: evict() of sql/include/helpers.sql.
\i sql/include/helpers.sql

-- The node's counters from EXPLAIN (ANALYZE, FORMAT JSON) of a query.
CREATE FUNCTION node_io(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
    RETURN jsonb_path_query_first(plan,
        '$[0].** ? (@."Custom Plan Provider" == "AsyncSeqScan")');
END $$;

CREATE FUNCTION statement_io(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
    RETURN plan -> 0 -> 'AsyncSeqScan IO';
END $$;

-- The Seq Scan's answer, for comparison (a temporary table: AsyncSeqScan
-- never scans those, so the counters below are mt's alone).
SET pg_asyncscan.enabled = off;
CREATE TEMP TABLE expected AS
    SELECT grp, count(*) AS n, sum(id) AS s, md5(string_agg(pad, ',' ORDER BY id)) AS h
    FROM mt GROUP BY grp;
RESET pg_asyncscan.enabled;

CREATE FUNCTION same_as_seqscan() RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS (
        (SELECT grp, count(*), sum(id), md5(string_agg(pad, ',' ORDER BY id))
         FROM mt GROUP BY grp
         EXCEPT SELECT * FROM expected)
        UNION ALL
        (SELECT * FROM expected
         EXCEPT SELECT grp, count(*), sum(id), md5(string_agg(pad, ',' ORDER BY id))
         FROM mt GROUP BY grp))
$$;

SELECT pg_asyncscan_stats_reset();

-- Each method, with direct_io off and on: same rows as the Seq Scan; the
-- node reads every block exactly once (direct + hit + read = blocks);
-- read bytes = what the reads asked for; in-flight never above io_depth;
-- the statement summary equals the node; O_DIRECT is reported when on.
CREATE TEMP TABLE results (method text, direct_io bool, same boolean, method_used text,
    pages_ok boolean, direct_used boolean, bytes_ok boolean, inflight_ok boolean,
    summary_ok boolean, o_direct boolean);
DO $$
DECLARE
    m text;
    d boolean;
    q text := 'SELECT count(*) FROM mt';
    io jsonb;
    st jsonb;
    blocks bigint := pg_relation_size('mt') / 8192;
BEGIN
    FOREACH m IN ARRAY ARRAY['sync', 'io_uring', 'worker'] LOOP
        FOREACH d IN ARRAY ARRAY[false, true] LOOP
            PERFORM set_config('pg_asyncscan.io_method', m, false);
            PERFORM set_config('pg_asyncscan.direct_io', d::text, false);
            CALL evict('mt');
            io := node_io(q);
            CALL evict('mt');
            st := statement_io(q);
            CALL evict('mt');
            INSERT INTO results VALUES (m, d, same_as_seqscan(),
                io ->> 'IO Method',
                (io ->> 'Pages Direct')::bigint + (io ->> 'Pages Hit')::bigint
                    + (io ->> 'Pages Read')::bigint = blocks,
                (io ->> 'Pages Direct')::bigint > 0,
                (io ->> 'Read Bytes')::bigint >= (io ->> 'Pages Direct')::bigint * 8192
                    AND (io ->> 'Read Bytes')::bigint % 8192 = 0
                    AND ((io ->> 'Reads')::bigint = 0) = ((io ->> 'Read Bytes')::bigint = 0),
                (io ->> 'Max In-Flight')::int
                    <= current_setting('pg_asyncscan.io_depth')::int,
                st ->> 'Nodes' = '1' AND st ->> 'Pages Direct' = io ->> 'Pages Direct'
                    AND st ->> 'Reads' = io ->> 'Reads',
                (io ->> 'Direct IO')::boolean);
        END LOOP;
    END LOOP;
END $$;
SELECT * FROM results ORDER BY method, direct_io;

-- The cumulative view: each method saw 4 scans of mt per direct_io
-- setting (two EXPLAIN ANALYZE, and the comparison query scans it twice),
-- counted each of its pages once per scan, and had no errors or fallbacks.
SELECT s.io_method, s.scans,
       s.pages_direct + s.pages_hit + s.pages_read = s.scans * :blocks AS pages_ok,
       s.read_bytes % 8192 = 0 AND s.read_bytes >= s.pages_direct * 8192 AS bytes_ok,
       s.errors, s.fallbacks
FROM pg_asyncscan_stats s ORDER BY s.io_method;

-- Two scans at once through the workers' arena, in one query: a nested
-- loop whose outer AsyncSeqScan of mt is half-way through the table (its
-- reads in the arena) while its inner AsyncSeqScan of mt is rescanned for
-- each outer row, all with the worker method.  Each group's count is the
-- Seq Scan's (the expected table).
SET pg_asyncscan.io_method = worker;
SET pg_asyncscan.direct_io = off;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT o.id, o.grp, x.c FROM mt o,
    LATERAL (SELECT count(*) AS c FROM mt i WHERE i.grp = o.grp) x
    WHERE o.id % 10000 = 0;
SELECT o.id, o.grp, x.c, x.c = (SELECT n FROM expected e WHERE e.grp = o.grp) AS same_as_seqscan
FROM mt o,
    LATERAL (SELECT count(*) AS c FROM mt i WHERE i.grp = o.grp) x
    WHERE o.id % 10000 = 0
ORDER BY o.id;

-- The worker method with a deep queue: a backend holds at most its share
-- of the arena's slots (all of them, when it is the only one using it);
-- reads beyond the share are read inline by the backend, not waited for
-- forever.  Two scans of one statement share the backend's share; the
-- rows are the Seq Scan's.  (How many reads are in flight follows the
-- waits -- it starts at 4 and doubles when the scan had to wait -- so
-- whether this statement reaches the share depends on the machine;
-- test/t/020_worker.pl shows the inline reads with an 8-slot arena.)
SET pg_asyncscan.io_depth = 128;
CALL evict('mt');
SELECT (st->>'Nodes')::int AS nodes, st->>'IO Method' AS io_method,
       (st->>'Inline Reads')::bigint <= (st->>'Reads')::bigint AS inline_among_reads
FROM statement_io('SELECT o.id, x.c FROM mt o,
    LATERAL (SELECT count(*) AS c FROM mt i WHERE i.grp = o.grp) x
    WHERE o.id % 10000 = 0') AS st;
CALL evict('mt');
SELECT same_as_seqscan() AS worker_deep_queue_same;
RESET pg_asyncscan.io_depth;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- Non-superusers may read the view but not reset it.
CREATE ROLE regress_asyncscan_stats_user;
SET ROLE regress_asyncscan_stats_user;
SELECT count(*) AS methods FROM pg_asyncscan_stats;
SELECT pg_asyncscan_stats_reset();
RESET ROLE;
DROP ROLE regress_asyncscan_stats_user;

DROP TABLE mt, expected, results;
DROP FUNCTION node_io(text), statement_io(text), same_as_seqscan();
\i sql/include/helpers_drop.sql
