--
-- explain: what EXPLAIN shows for Custom Scan (AsyncSeqScan), in every
-- format, with and without ANALYZE.
--
-- Without ANALYZE the node names its IO method.  With ANALYZE it adds its
-- counters, and the statement gets one "AsyncSeqScan IO" summary of all
-- its AsyncSeqScan nodes.  The counters' values depend on what was in
-- shared buffers and on the look-ahead, so explain_n() below replaces them
-- by N.  Everything else (node names, actual rows and loops, filters,
-- the number of nodes in the summary) is printed as is.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;
-- on a server with the storage hook patch, EXPLAIN VERBOSE and ANALYZE also
-- report the hooks (sql/storage_hooks.sql): off here, so that this output
-- is the same on every server
SET pg_asyncscan.storage_hooks = off;
-- wait times are measured (and shown) under track_io_timing or TIMING
SET track_io_timing = off;

-- EXPLAIN (:io_analyze, ...) in psql: see io_analyze() in setup.sql
SELECT io_analyze() AS io_analyze \gset

CREATE TABLE ex_t (id int, grp int, val text) WITH (autovacuum_enabled = off);
INSERT INTO ex_t SELECT g, g % 7, 'row ' || g FROM generate_series(1, 5000) g;
VACUUM ANALYZE ex_t;
CREATE TABLE ex_empty (id int) WITH (autovacuum_enabled = off);

-- Run EXPLAIN with the given options and return its lines, with the
-- run-dependent numbers of AsyncSeqScan replaced by N: the values on the
-- text-format "IO:" and "Reads:" lines, the counter properties of the
-- JSON, YAML and XML formats, and actual times.  "IO Method", "Direct IO"
-- and "Nodes" are kept.
CREATE FUNCTION explain_n(options text, query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    ln text;
    counters constant text :=
        '(Pages[ -]Direct|Pages[ -]Hit|Pages[ -]Read|'
        'Direct[ -]Rejected[ -](In[ -]Buffers|Not[ -]All-Visible|Bad[ -]Page)|'
        'Reads|Read[ -]Bytes|Read[ -]Bytes[ -]From[ -]Page[ -]Cache|'
        'Average[ -]Read[ -]Size|Average[ -]In-Flight|'
        'Max[ -]In-Flight|Max[ -]Window|Advised[ -]Blocks|Waits|Wait[ -]Time)';
BEGIN
    -- "ANALYZE" stands for the options that show our counters
    options := regexp_replace(options, '^ANALYZE\M', io_analyze());
    FOR ln IN EXECUTE format('EXPLAIN (%s) %s', options, query)
    LOOP
        -- text format
        IF ln ~ '^\s*(IO|Reads): ' THEN
            ln := regexp_replace(ln, '=[0-9]+(\.[0-9]+)?', '=N', 'g');
        END IF;
        ln := regexp_replace(ln, 'actual time=[0-9.]+\.\.[0-9.]+', 'actual time=N..N', 'g');
        ln := regexp_replace(ln, '^(\s*"?Actual[ -](Startup|Total)[ -]Time"?: )[0-9.]+',
                             '\1N', 'gn');
        ln := regexp_replace(ln, '^(\s*<Actual-(Startup|Total)-Time>)[0-9.]+', '\1N', 'gn');
        -- JSON ("Name": 1), YAML (Name: 1), XML (<Name>1</Name>)
        -- (one row holds the whole document: flag n makes ^ match after
        -- every newline)
        ln := regexp_replace(ln, '^(\s*"?' || counters || '"?: )[0-9]+(\.[0-9]+)?',
                             '\1N', 'gn');
        ln := regexp_replace(ln, '^(\s*<' || counters || '>)[0-9]+(\.[0-9]+)?(</)',
                             '\1N\5', 'gn');
        RETURN NEXT ln;
    END LOOP;
END;
$$;

--
-- Without ANALYZE: the IO method, in all four formats
--
EXPLAIN (COSTS OFF) SELECT * FROM ex_t WHERE grp = 3;
EXPLAIN (COSTS OFF, FORMAT JSON) SELECT * FROM ex_t WHERE grp = 3;
EXPLAIN (COSTS OFF, FORMAT YAML) SELECT * FROM ex_t WHERE grp = 3;
EXPLAIN (COSTS OFF, FORMAT XML) SELECT * FROM ex_t WHERE grp = 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id + 1, val FROM ex_t WHERE grp = 3;
-- costs are shown as usual (not printed here: they depend on statistics)
SELECT explain_n('FORMAT JSON', 'SELECT * FROM ex_t')::jsonb #> '{0,Plan}' ?& ARRAY['Startup Cost', 'Total Cost', 'Plan Rows'] AS has_costs;

--
-- ANALYZE, in all four formats
--
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF',
                 'SELECT * FROM ex_t WHERE grp = 3');
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON',
                 'SELECT * FROM ex_t WHERE grp = 3');
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT YAML',
                 'SELECT * FROM ex_t WHERE grp = 3');
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT XML',
                 'SELECT * FROM ex_t WHERE grp = 3');
-- with VERBOSE
SELECT explain_n('ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF',
                 'SELECT count(*) FROM ex_t');

-- scan_counters(): see sql/include/helpers.sql
\i sql/include/helpers.sql

-- The counters of a node add up, on a table moved out of shared buffers
-- first (evict(), so that its all-visible blocks take the direct path and
-- every counter has something to count): every block is handed out once,
-- by the direct path, as a shared-buffer hit or as a read into shared
-- buffers; some were read directly, by reads of up to io_combine_limit
-- (16) blocks, whose bytes are those of the direct blocks and whose
-- average size is their bytes over their count; every method has at least
-- one read in flight at a submission (sync: announced to the kernel, read
-- when needed) and at most io_depth (64); the window is within io_depth *
-- io_combine_limit blocks.
CREATE FUNCTION evicted_counters(method text) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('pg_asyncscan.io_method', method, true);
    CALL evict('ex_t');
    RETURN scan_counters('SELECT * FROM ex_t');
END;
$$;
SELECT m AS method,
       (c->>'Pages Direct')::int + (c->>'Pages Hit')::int + (c->>'Pages Read')::int
         = pg_relation_size('ex_t') / 8192 AS all_blocks_once,
       (c->>'Pages Direct')::int > 0 AS direct_used,
       (c->>'Reads')::int BETWEEN ceil((c->>'Pages Direct')::numeric / 16)
                              AND (c->>'Pages Direct')::int AS reads_combined,
       (c->>'Read Bytes')::bigint
         = 8192 * ((c->>'Pages Direct')::bigint
                   + (c->>'Direct Rejected In Buffers')::bigint
                   + (c->>'Direct Rejected Not All-Visible')::bigint
                   + (c->>'Direct Rejected Bad Page')::bigint
                   + (c->>'Direct Rejected Undecided')::bigint) AS bytes_match_direct_blocks,
       round((c->>'Read Bytes')::numeric / (c->>'Reads')::numeric / 1024, 1)
         = (c->>'Average Read Size')::numeric AS avg_read_size,
       (c->>'Max In-Flight')::int
         BETWEEN 1 AND current_setting('pg_asyncscan.io_depth')::int AS in_flight_within_depth,
       (c->>'Max Window')::int
         BETWEEN 1 AND current_setting('pg_asyncscan.io_depth')::int
                       * (pg_size_bytes(current_setting('pg_asyncscan.io_combine_limit')) / 8192)::int AS window_within_limit,
       c->>'IO Method' AS io_method,
       c->>'Direct IO' AS direct_io,
       (c->>'Actual Rows')::numeric::bigint AS actual_rows
FROM unnest(ARRAY['sync', 'io_uring', 'worker']) AS m,
     LATERAL evicted_counters(m) AS c;

--
-- A node that never ran (the inner side of a join whose outer side is
-- empty) still reports its counters, all zero
--
EXPLAIN (:io_analyze, COSTS OFF, TIMING OFF, SUMMARY OFF)
  SELECT * FROM ex_empty e,
    LATERAL (SELECT * FROM ex_t t WHERE t.id = e.id OFFSET 0) s;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
-- a rescanned node (inner side of a nested loop) sums its counters over
-- all loops: three loops over every block
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM (VALUES (1), (2), (3)) v(x) JOIN ex_t t ON t.grp = v.x;
SELECT (c->>'Actual Loops')::int AS loops,
       (c->>'Pages Direct')::int + (c->>'Pages Hit')::int + (c->>'Pages Read')::int
         = 3 * pg_relation_size('ex_t') / 8192 AS three_times_all_blocks
FROM scan_counters('SELECT count(*) FROM (VALUES (1), (2), (3)) v(x) JOIN ex_t t ON t.grp = v.x') AS c;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- an empty table: nothing to read
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF', 'SELECT * FROM ex_empty');
EXPLAIN (:io_analyze, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM ex_empty;

-- a LIMIT stops the node early: the rows are those it returned
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF', 'SELECT * FROM ex_t LIMIT 10');

-- partitions: one node, and its own counters, per partition
CREATE TABLE ex_part (id int, val text) PARTITION BY RANGE (id);
CREATE TABLE ex_part_1 PARTITION OF ex_part FOR VALUES FROM (0) TO (1000)
  WITH (autovacuum_enabled = off);
CREATE TABLE ex_part_2 PARTITION OF ex_part FOR VALUES FROM (1000) TO (2000)
  WITH (autovacuum_enabled = off);
INSERT INTO ex_part SELECT g, 'v' FROM generate_series(0, 1999) g;
ANALYZE ex_part;
SELECT explain_n('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF', 'SELECT count(*) FROM ex_part');

-- with TIMING, the time spent waiting for reads is measured and shown
-- too (as "wait=" and "Wait Time")
SELECT explain_n('ANALYZE, COSTS OFF, SUMMARY OFF', 'SELECT count(*) FROM ex_t');
SELECT explain_n('ANALYZE, COSTS OFF, SUMMARY OFF, FORMAT JSON', 'SELECT count(*) FROM ex_t');

--
-- The statement summary: the number of AsyncSeqScan nodes in the plan and
-- the sums of their counters, each node counted once, wherever it is in
-- the plan -- in joins, partitions, rescanned inner sides, InitPlans and
-- SubPlans.
--
CREATE FUNCTION summary_check(query text, OUT nodes_in_plan int,
                              OUT summary_nodes int, OUT sums_match boolean)
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    summary jsonb;
    counter text;
    total numeric;
BEGIN
    EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query
        INTO plan;
    summary := plan -> 0 -> 'AsyncSeqScan IO';
    SELECT count(*) INTO nodes_in_plan
    FROM jsonb_path_query(plan, 'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")');
    summary_nodes := (summary ->> 'Nodes')::int;
    sums_match := true;
    FOREACH counter IN ARRAY ARRAY['Pages Direct', 'Pages Hit', 'Pages Read',
                                   'Reads', 'Read Bytes', 'Advised Blocks', 'Waits']
    LOOP
        SELECT sum((n ->> counter)::numeric) INTO total
        FROM jsonb_path_query(plan,
            'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")') AS n;
        IF total IS DISTINCT FROM (summary ->> counter)::numeric THEN
            sums_match := false;
        END IF;
    END LOOP;
END;
$$;
CREATE TABLE ex_small (k int) WITH (autovacuum_enabled = off);
INSERT INTO ex_small SELECT g FROM generate_series(1, 10) g;
ANALYZE ex_small;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT v.label, c.* FROM (VALUES
    ('one scan',     'SELECT * FROM ex_t'),
    ('self join',    'SELECT count(*) FROM ex_t a JOIN ex_t b ON a.id = b.id'),
    ('partitions',   'SELECT count(*) FROM ex_part'),
    ('rescanned',    'SELECT count(*) FROM ex_small s JOIN ex_t t ON t.grp = s.k'),
    ('initplan',     'SELECT count(*) FROM ex_t WHERE id > (SELECT max(k) FROM ex_small)'),
    ('subplan tlist','SELECT s.k, (SELECT count(*) FROM ex_t t WHERE t.id = s.k) FROM ex_small s'),
    ('subplan qual', 'SELECT s.k FROM ex_small s WHERE EXISTS (SELECT 1 FROM ex_t t WHERE t.id = s.k * 3 OFFSET 0)'),
    ('no node',      'SELECT count(*) FROM ex_small, LATERAL (SELECT 1) x WHERE false')
) v(label, q), LATERAL summary_check(v.q) c;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- EXPLAIN of a plan that does not contain the node shows none of this
SET pg_asyncscan.enabled = off;
EXPLAIN (:io_analyze, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM ex_t;
RESET pg_asyncscan.enabled;

DROP FUNCTION explain_n(text, text);
DROP FUNCTION summary_check(text);
DROP FUNCTION evicted_counters(text);
DROP TABLE ex_t, ex_empty, ex_part, ex_small;
\i sql/include/helpers_drop.sql
