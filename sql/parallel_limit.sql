--
-- parallel_limit: parallel AsyncSeqScans that a LIMIT stops early.  Every
-- page any participant read is counted once in pg_asyncscan_stats, and
-- EXPLAIN's totals over the participants (the workers' counters, collected
-- after they finished) agree with it, for every IO method.
--
LOAD 'pg_asyncscan';
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
-- the workers read every page: what they read must reach the statistics
SET parallel_leader_participation = off;

CREATE TABLE pl (id int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO pl SELECT g, repeat('p', 200) FROM generate_series(1, 100000) g;
VACUUM (FREEZE, ANALYZE) pl;

EXPLAIN (COSTS OFF) SELECT * FROM pl LIMIT 1000;

-- pl_limit(method, n): run SELECT * FROM pl LIMIT n under EXPLAIN ANALYZE
-- with the statistics reset just before; returns the workers launched, the
-- pages EXPLAIN counts over all participants, those of the leader alone,
-- and the pages the statistics view counts for the method.
CREATE FUNCTION pl_limit(method text, n int,
    OUT launched int, OUT explain_pages bigint, OUT leader_pages bigint,
    OUT stats_pages bigint)
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    node jsonb;
    leader jsonb;
BEGIN
    PERFORM set_config('pg_asyncscan.io_method', method, false);
    PERFORM pg_asyncscan_stats_reset();
    EXECUTE 'EXPLAIN (' || io_analyze() || ', VERBOSE, COSTS OFF, TIMING OFF, FORMAT JSON) '
        || 'SELECT * FROM pl LIMIT ' || n INTO plan;
    launched := jsonb_path_query_first(plan, '$[0].** ? (@."Node Type" == "Gather")."Workers Launched"');
    node := jsonb_path_query_first(plan, '$[0].** ? (@."Custom Plan Provider" == "AsyncSeqScan")');
    explain_pages := (node ->> 'Pages Direct')::bigint + (node ->> 'Pages Hit')::bigint
        + (node ->> 'Pages Read')::bigint;
    leader := jsonb_path_query_first(node, '$."Participants IO"[*] ? (@."Participant" == "leader")');
    leader_pages := (leader ->> 'Pages Direct')::bigint + (leader ->> 'Pages Hit')::bigint
        + (leader ->> 'Pages Read')::bigint;
    SELECT pages_direct + pages_hit + pages_read INTO stats_pages
    FROM pg_asyncscan_stats WHERE io_method = method;
END $$;

-- the workers read pages of their own; the statistics count them all, and
-- as many as EXPLAIN shows
SELECT m AS method, n AS lim,
       launched > 0 AS workers_launched,
       explain_pages > leader_pages AS workers_read_pages,
       stats_pages = explain_pages AS stats_count_every_page
FROM unnest(ARRAY['sync', 'io_uring', 'worker']) m,
     unnest(ARRAY[1000, 30000]) n,
     pl_limit(m, n)
ORDER BY 1, 2;

-- and without a LIMIT, every block of the table exactly once
SELECT m AS method,
       launched > 0 AS workers_launched,
       explain_pages = pg_relation_size('pl') / 8192 AS every_block_once,
       stats_pages = explain_pages AS stats_count_every_page
FROM unnest(ARRAY['sync', 'io_uring', 'worker']) m,
     pl_limit(m, 1000000)
ORDER BY 1;

RESET pg_asyncscan.io_method;
DROP FUNCTION pl_limit(text, int);
DROP TABLE pl;
