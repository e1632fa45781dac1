--
-- parallel: a parallel AsyncSeqScan (partial path under Gather) returns
-- exactly the rows of a (non-parallel) Seq Scan, launches its workers,
-- reads every block exactly once over all participants, and every
-- participant reads some of them, for every IO method, with and without
-- the leader taking part; rescans of a parallel scan work; an error in a
-- participant fails the query cleanly.
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

-- The plan of a query, EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON), and in
-- it the parallel AsyncSeqScan node (its counters are the totals over all
-- participants, "Participants IO" has each one's own) and the Gather node.
CREATE FUNCTION parallel_plan(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (' || io_analyze() || ', VERBOSE, COSTS OFF, TIMING OFF, FORMAT JSON) ' || query INTO plan;
    RETURN plan;
END $$;

-- participants_ready(id, n): true; on every 500th row it first waits
-- until n parallel workers are running a query, for at most 10 s after
-- the statement began (parallel workers share the leader's statement
-- start).  The leader starts scanning as soon as it has launched its
-- workers, which need a moment to start; without this gate a participant
-- that starts late can find every block already handed out (correct, but
-- then "each participant read pages" below would say nothing).  PARALLEL
-- SAFE: every participant evaluates the qual; once the workers run, the
-- gate is open for all of them.
CREATE FUNCTION participants_ready(id int, n int) RETURNS boolean
LANGUAGE plpgsql PARALLEL SAFE AS $$
BEGIN
    IF id % 500 <> 0 THEN
        RETURN true;
    END IF;
    LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN (SELECT count(*) FROM pg_stat_activity
                   WHERE backend_type = 'parallel worker' AND state = 'active') >= n
              OR clock_timestamp() > statement_timestamp() + interval '10 s';
        PERFORM pg_sleep(0.001);
    END LOOP;
    RETURN true;
END $$;

-- The reference rows come from a plain (not parallel) Seq Scan.
SET pg_asyncscan.enabled = off;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pt;
CREATE TEMP TABLE expected AS
    SELECT grp, count(*) AS n, sum(id) AS s, md5(string_agg(pad, ',' ORDER BY id)) AS h
    FROM pt GROUP BY grp;
RESET max_parallel_workers_per_gather;
RESET pg_asyncscan.enabled;

-- For each IO method, with and without the leader taking part: the rows
-- of the parallel AsyncSeqScan are the Seq Scan's; the Gather launched
-- both planned workers; the node's totals and the participants' counters
-- each add up to every block of the table once; every worker, and the
-- leader when it takes part, read pages (and the leader none when it does
-- not).  A run in which some participant read nothing is retried (up to
-- 3 runs): under heavy load a worker may still start too late to find a
-- block left.
CREATE TEMP TABLE results (method text, leader boolean, parallel_aware boolean,
    same boolean, workers_launched int, each_block_once boolean,
    participants int, sum_ok boolean, each_participant_read boolean);
DO $$
DECLARE
    m text;
    l boolean;
    plan jsonb;
    io jsonb;
    q text := 'SELECT grp, count(*), sum(id), md5(string_agg(pad, '','' ORDER BY id)) FROM pt '
              'WHERE participants_ready(id, 2) GROUP BY grp';
    blocks bigint := pg_relation_size('pt') / 8192;
    same boolean;
    each_read boolean;
BEGIN
    FOREACH m IN ARRAY ARRAY['sync', 'io_uring', 'worker'] LOOP
        FOREACH l IN ARRAY ARRAY[true, false] LOOP
            PERFORM set_config('pg_asyncscan.io_method', m, false);
            PERFORM set_config('parallel_leader_participation', l::text, false);
            FOR attempt IN 1 .. 3 LOOP
                plan := parallel_plan(q);
                io := jsonb_path_query_first(plan,
                    '$[0].** ? (@."Custom Plan Provider" == "AsyncSeqScan")');
                SELECT bool_and(CASE WHEN p ->> 'Participant' = 'leader' AND NOT l
                                     THEN pages = 0 ELSE pages > 0 END)
                  INTO each_read
                  FROM jsonb_array_elements(io -> 'Participants IO') p,
                       LATERAL (SELECT (p ->> 'Pages Direct')::bigint + (p ->> 'Pages Hit')::bigint
                                       + (p ->> 'Pages Read')::bigint AS pages) x;
                EXIT WHEN each_read;
                RAISE LOG 'parallel.sql: % leader %, run %: a participant read no page: %',
                    m, l, attempt, io -> 'Participants IO';
            END LOOP;
            EXECUTE format('SELECT NOT EXISTS ((%s EXCEPT SELECT * FROM expected) UNION ALL (SELECT * FROM expected EXCEPT %s))', q, q)
                INTO same;
            INSERT INTO results VALUES (m, l, (io ->> 'Parallel Aware')::boolean, same,
                (jsonb_path_query_first(plan, '$[0].** ? (@."Node Type" starts with "Gather")')
                    ->> 'Workers Launched')::int,
                (io ->> 'Pages Direct')::bigint + (io ->> 'Pages Hit')::bigint
                    + (io ->> 'Pages Read')::bigint = blocks,
                jsonb_array_length(io -> 'Participants IO'),
                (SELECT sum((p ->> 'Pages Direct')::bigint + (p ->> 'Pages Hit')::bigint
                            + (p ->> 'Pages Read')::bigint)
                 FROM jsonb_array_elements(io -> 'Participants IO') p) = blocks,
                each_read);
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
-- (the leader's error has no CONTEXT line, a worker's says "parallel
-- worker": which one it is varies from run to run, so it is not shown)
\set SHOW_CONTEXT never
SELECT count(*) FROM pt WHERE 1 / (id - 41234) > -1;
\set SHOW_CONTEXT errors
-- ... and the session goes on with correct results.
SELECT count(*), sum(id) FROM pt;

-- With the extension disabled, the same plan shape is a Parallel Seq Scan.
SET pg_asyncscan.enabled = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pt WHERE grp = 3;
RESET pg_asyncscan.enabled;

DROP TABLE pt;
DROP FUNCTION parallel_plan(text);
DROP FUNCTION participants_ready(int, int);
