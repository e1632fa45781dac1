--
-- parallel: a parallel AsyncSeqScan (partial path under Gather) returns
-- exactly the rows of a Seq Scan, reads every block exactly once over all
-- participants, for every IO method, with and without the leader taking
-- part; rescans of a parallel scan work; an error in a participant fails
-- the query cleanly.
--
LOAD 'pg_asyncscan';
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
-- force parallel plans for a small table
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

CREATE TABLE pt (id int, grp int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO pt SELECT g, g % 7, repeat('p', 100) FROM generate_series(1, 60000) g;
VACUUM (FREEZE) pt;
-- some blocks not all-visible, for the buffered path in every participant
UPDATE pt SET pad = 'changed' WHERE id % 3000 = 0;
ANALYZE pt;
SELECT pg_relation_size('pt') / 8192 AS blocks \gset

-- the plan: Gather over a Parallel Custom Scan
EXPLAIN (COSTS OFF) SELECT count(*) FROM pt WHERE grp = 3;

-- The counters of the parallel node, totals over all participants.
CREATE FUNCTION parallel_io(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (' || io_analyze() || ', VERBOSE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
    RETURN jsonb_path_query_first(plan,
        '$[0].** ? (@."Custom Plan Provider" == "AsyncSeqScan")');
END $$;

CREATE TEMP TABLE expected AS
    SELECT grp, count(*) AS n, sum(id) AS s, md5(string_agg(pad, ',' ORDER BY id)) AS h
    FROM pt GROUP BY grp;

CREATE TEMP TABLE results (method text, leader boolean, parallel_aware boolean,
    same boolean, each_block_once boolean, participants int, sum_ok boolean);
DO $$
DECLARE
    m text;
    l boolean;
    io jsonb;
    q text := 'SELECT grp, count(*), sum(id), md5(string_agg(pad, '','' ORDER BY id)) FROM pt GROUP BY grp';
    blocks bigint := pg_relation_size('pt') / 8192;
    same boolean;
BEGIN
    FOREACH m IN ARRAY ARRAY['sync', 'io_uring', 'worker'] LOOP
        FOREACH l IN ARRAY ARRAY[true, false] LOOP
            PERFORM set_config('pg_asyncscan.io_method', m, false);
            PERFORM set_config('parallel_leader_participation', l::text, false);
            io := parallel_io(q);
            EXECUTE format('SELECT NOT EXISTS ((%s EXCEPT SELECT * FROM expected) UNION ALL (SELECT * FROM expected EXCEPT %s))', q, q)
                INTO same;
            INSERT INTO results VALUES (m, l, (io ->> 'Parallel Aware')::boolean, same,
                (io ->> 'Pages Direct')::bigint + (io ->> 'Pages Hit')::bigint
                    + (io ->> 'Pages Read')::bigint = blocks,
                jsonb_array_length(io -> 'Participants IO'),
                (SELECT sum((p ->> 'Pages Direct')::bigint + (p ->> 'Pages Hit')::bigint
                            + (p ->> 'Pages Read')::bigint)
                 FROM jsonb_array_elements(io -> 'Participants IO') p) = blocks);
        END LOOP;
    END LOOP;
END $$;
RESET parallel_leader_participation;
SELECT * FROM results ORDER BY method, leader;

-- Rescans of a parallel scan: a Gather on the inner side of a nested loop
-- is rescanned for every outer row; each rescan re-initializes the shared
-- allocator and hands out every block again.
SET pg_asyncscan.io_method = io_uring;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF)
SELECT * FROM (SELECT count(*) AS n, sum(id) AS s FROM pt WHERE grp > 2) ss
    RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT * FROM (SELECT count(*) AS n, sum(id) AS s FROM pt WHERE grp > 2) ss
    RIGHT JOIN (VALUES (1), (2), (3)) v(x) ON true;
SELECT sum(n) AS n, sum(s) AS s FROM expected WHERE grp > 2;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- An error in a participant (the qual fails on one row, scanned by
-- whichever participant gets its block) fails the query cleanly ...
SELECT count(*) FROM pt WHERE 1 / (id - 41234) > -1;
-- ... and the session goes on with correct results.
SELECT count(*), sum(id) FROM pt;

-- With the extension disabled, the same plan shape is a Parallel Seq Scan.
SET pg_asyncscan.enabled = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pt WHERE grp = 3;
RESET pg_asyncscan.enabled;

DROP TABLE pt;
DROP FUNCTION parallel_io(text);
