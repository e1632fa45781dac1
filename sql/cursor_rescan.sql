--
-- cursor_rescan: AsyncSeqScan restarted (rescans), stopped early and
-- driven through cursors must return exactly what a Seq Scan returns.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

-- evict(), revacuum() and scan_counters(): see sql/include/helpers.sql
\i sql/include/helpers.sql

-- Run query with AsyncSeqScan (error if the plan has none; its tables
-- evicted first) and with plain Seq Scans, and compare the results as
-- multisets of rows.
CREATE FUNCTION compare(query text,
                        OUT rows_on bigint, OUT rows_off bigint, OUT same boolean)
LANGUAGE plpgsql AS $$
DECLARE
    stmt constant text := format('SELECT array_agg(x::text ORDER BY x::text) FROM (%s) x', query);
    plan jsonb;
    rel text;
    on_rows text[];
    off_rows text[];
BEGIN
    PERFORM set_config('pg_asyncscan.enabled', 'on', true);
    EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || stmt INTO plan;
    FOR rel IN
        SELECT DISTINCT n->>'Relation Name'
        FROM jsonb_path_query(plan,
            'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")') AS n
    LOOP
        CALL evict(rel::regclass);
    END LOOP;
    IF rel IS NULL THEN
        RAISE EXCEPTION 'no AsyncSeqScan in the plan of: %', query;
    END IF;
    EXECUTE stmt INTO on_rows;
    PERFORM set_config('pg_asyncscan.enabled', 'off', true);
    EXECUTE stmt INTO off_rows;
    PERFORM set_config('pg_asyncscan.enabled', 'on', true);
    rows_on := coalesce(cardinality(on_rows), 0);
    rows_off := coalesce(cardinality(off_rows), 0);
    same := on_rows IS NOT DISTINCT FROM off_rows;
END;
$$;

-- 12000 rows in id order over about 75 blocks, all-visible
CREATE TABLE cr (id int, grp int, val text) WITH (autovacuum_enabled = off);
INSERT INTO cr SELECT g, g % 20, 'val ' || g FROM generate_series(1, 12000) g;
CREATE TABLE cr_outer (k int) WITH (autovacuum_enabled = off);
INSERT INTO cr_outer SELECT g FROM generate_series(0, 24) g;
VACUUM ANALYZE cr, cr_outer;
\set ECHO none
SELECT * FROM revacuum('cr', 'cr_outer') \gexec
\set ECHO all

--
-- Rescans: the inner side of a nested loop is restarted for every outer
-- row, each time reading the table again from its first block
--
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF)
  SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k;
SELECT * FROM compare('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k');
SELECT * FROM compare('SELECT o.k, c.ctid, c.* FROM cr_outer o JOIN cr c ON c.id % 25 = o.k AND c.grp < 3');
-- the rescanned node reads every block in each of its loops
CALL evict('cr');
SELECT (n->>'Actual Loops')::int AS loops,
       (n->>'Pages Direct')::bigint + (n->>'Pages Hit')::bigint + (n->>'Pages Read')::bigint
         = 25 * pg_relation_size('cr') / 8192 AS all_blocks_every_loop,
       (n->>'Pages Direct')::bigint = 25 * pg_relation_size('cr') / 8192 AS all_direct
FROM scan_counters('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k', 'cr') AS n;
-- under small and large read settings
SET pg_asyncscan.io_depth = 1;
SET pg_asyncscan.io_combine_limit = 1;
SELECT * FROM compare('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k');
SET pg_asyncscan.io_depth = 128;
SET pg_asyncscan.io_combine_limit = 64;
SELECT * FROM compare('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k');
SET pg_asyncscan.io_depth = 3;
SET pg_asyncscan.io_combine_limit = 5;
SELECT * FROM compare('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k');
RESET pg_asyncscan.io_depth;
RESET pg_asyncscan.io_combine_limit;

-- correlated subqueries: one rescan of their scan per outer row
EXPLAIN (COSTS OFF)
  SELECT o.k, (SELECT count(*) FROM cr c WHERE c.grp = o.k) FROM cr_outer o;
SELECT * FROM compare($$
  SELECT o.k,
         (SELECT count(*) FROM cr c WHERE c.grp = o.k),
         (SELECT max(id) FROM cr c WHERE c.grp = o.k AND c.id < o.k * 400),
         (SELECT string_agg(val, ',') FROM cr c WHERE c.id BETWEEN o.k * 100 AND o.k * 100 + 3)
  FROM cr_outer o$$);
SELECT * FROM compare($$
  SELECT k FROM cr_outer o WHERE EXISTS (SELECT 1 FROM cr c WHERE c.id = o.k * 500)$$);

-- LIMIT inside a rescanned subquery: each rescan stops the stream early,
-- after the first few matching rows (the same rows for both scans, which
-- both read the table from its first block)
EXPLAIN (COSTS OFF)
  SELECT o.k, l.id FROM cr_outer o,
    LATERAL (SELECT id FROM cr c WHERE c.grp = o.k LIMIT 3) l;
SELECT * FROM compare($$
  SELECT o.k, l.id FROM cr_outer o,
    LATERAL (SELECT id FROM cr c WHERE c.grp = o.k LIMIT 3) l$$);
SELECT * FROM compare($$
  SELECT o.k, (SELECT sum(id) FROM (SELECT id FROM cr c WHERE c.id > o.k * 450 LIMIT 40) s)
  FROM cr_outer o$$);
-- the explicit result of the first few rows, from block 0 on
SELECT o.k, array_agg(l.id) AS first_ids
FROM cr_outer o, LATERAL (SELECT id FROM cr c WHERE c.grp = o.k LIMIT 3) l
WHERE o.k < 4 GROUP BY o.k ORDER BY o.k;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

--
-- SCROLL cursor: a Materialize above the node supplies backward fetches.
-- The rows come in block order, which here is id order, so every FETCH
-- has a known answer.
--
CALL evict('cr');
BEGIN;
EXPLAIN (COSTS OFF) DECLARE c1 SCROLL CURSOR FOR SELECT id FROM cr WHERE id % 500 = 0;
DECLARE c1 SCROLL CURSOR FOR SELECT id FROM cr WHERE id % 500 = 0;
FETCH 3 FROM c1;           -- 500, 1000, 1500
FETCH BACKWARD 2 FROM c1;  -- 1000, 500
FETCH ABSOLUTE 10 FROM c1; -- 5000
FETCH RELATIVE -3 FROM c1; -- 3500
MOVE FORWARD 5 IN c1;      -- now on 6000
FETCH NEXT FROM c1;        -- 6500
FETCH LAST FROM c1;        -- 12000
FETCH PRIOR FROM c1;       -- 11500
FETCH ABSOLUTE -5 FROM c1; -- 10000
MOVE ABSOLUTE 0 IN c1;     -- before the first row
FETCH FIRST FROM c1;       -- 500
FETCH FORWARD 30 FROM c1;  -- 1000 .. 12000 (23 rows)
FETCH BACKWARD 1 FROM c1;  -- 12000
MOVE BACKWARD ALL IN c1;
FETCH 1 FROM c1;           -- 500
CLOSE c1;
COMMIT;

--
-- A cursor declared without SCROLL gets no Materialize.  AsyncSeqScan
-- cannot scan backward, so PostgreSQL makes it a NO SCROLL cursor and a
-- backward fetch is refused (a plain Seq Scan could go backward: with the
-- extension disabled the same cursor allows it).
--
BEGIN;
DECLARE c2 CURSOR FOR SELECT id FROM cr WHERE id % 500 = 0;
FETCH 2 FROM c2;
FETCH BACKWARD 1 FROM c2;
ROLLBACK;
SET pg_asyncscan.enabled = off;
BEGIN;
DECLARE c2 CURSOR FOR SELECT id FROM cr WHERE id % 500 = 0;
FETCH 2 FROM c2;
FETCH BACKWARD 1 FROM c2;
ROLLBACK;
RESET pg_asyncscan.enabled;

--
-- NO SCROLL cursor fetched partially, then closed: the stream is shut
-- down mid-scan, and later scans in the same transaction are unaffected
--
CALL evict('cr');
BEGIN;
DECLARE c3 NO SCROLL CURSOR FOR SELECT id, val FROM cr;
FETCH 3 FROM c3;
MOVE FORWARD 4000 IN c3;
FETCH 2 FROM c3;
CLOSE c3;
SELECT count(*), sum(id) FROM cr;
DECLARE c4 NO SCROLL CURSOR FOR SELECT id FROM cr WHERE grp = 7;
FETCH 2 FROM c4;
-- two open cursors on the same table, fetched alternately
DECLARE c5 NO SCROLL CURSOR FOR SELECT id FROM cr WHERE grp = 8;
FETCH 2 FROM c5;
FETCH 2 FROM c4;
FETCH 2 FROM c5;
COMMIT;  -- closes c4 and c5 with their scans unfinished

--
-- Subtransactions around FETCH: a cursor fetched in a subtransaction that
-- is rolled back, or open while an unrelated error rolls one back, goes on
-- where it was (the rollback does not touch its scan)
--
CALL evict('cr');
BEGIN;
DECLARE c11 NO SCROLL CURSOR FOR SELECT id FROM cr WHERE id % 1000 = 0;
FETCH 2 FROM c11;          -- 1000, 2000
SAVEPOINT s1;
FETCH 2 FROM c11;          -- 3000, 4000
ROLLBACK TO SAVEPOINT s1;
FETCH 1 FROM c11;          -- 5000
SAVEPOINT s2;
SELECT 1 / 0;
ROLLBACK TO SAVEPOINT s2;
FETCH ALL FROM c11;        -- 6000 .. 12000
COMMIT;

--
-- A cursor keeps its snapshot: rows the transaction deletes, updates or
-- inserts after DECLARE do not change what the cursor returns, even for
-- blocks the scan has already read ahead (they are now in shared buffers
-- and not all-visible, so the stream falls back to the buffered path).
--
CALL evict('cr');
BEGIN;
DECLARE c6 NO SCROLL CURSOR FOR SELECT id, val FROM cr;
MOVE FORWARD 1000 IN c6;
DELETE FROM cr WHERE id BETWEEN 2000 AND 2500;
UPDATE cr SET val = 'changed' WHERE id % 100 = 0;
INSERT INTO cr SELECT g, 0, 'new' FROM generate_series(20001, 20100) g;
SELECT count(*) AS rows_now, count(*) FILTER (WHERE val = 'changed') AS changed_now FROM cr;
-- the cursor still sees the table as it was at DECLARE
MOVE FORWARD 998 IN c6;
FETCH 3 FROM c6;           -- 1999, 2000, 2001 (deleted since)
MOVE FORWARD 997 IN c6;
FETCH 3 FROM c6;           -- 2999, 3000, 3001 (3000 not 'changed')
MOVE FORWARD 8995 IN c6;
FETCH ALL FROM c6;         -- 11997 .. 12000, none of the new rows
ROLLBACK;
-- the same through a function that counts what the cursor returns
CREATE FUNCTION cursor_snapshot_count(OUT fetched bigint, OUT changed bigint,
                                      OUT max_id int)
LANGUAGE plpgsql AS $$
DECLARE
    c CURSOR FOR SELECT id, val FROM cr;
    r record;
    n int := 0;
BEGIN
    fetched := 0; changed := 0; max_id := 0;
    OPEN c;
    LOOP
        FETCH c INTO r;
        EXIT WHEN NOT FOUND;
        n := n + 1;
        IF n = 1000 THEN
            DELETE FROM cr WHERE id BETWEEN 2000 AND 2500;
            UPDATE cr SET val = 'changed' WHERE id % 100 = 0;
            INSERT INTO cr SELECT g, 0, 'new' FROM generate_series(20001, 20100) g;
        END IF;
        fetched := fetched + 1;
        IF r.val = 'changed' THEN changed := changed + 1; END IF;
        max_id := greatest(max_id, r.id);
    END LOOP;
    CLOSE c;
END;
$$;
CALL evict('cr');
BEGIN;
SELECT * FROM cursor_snapshot_count();
ROLLBACK;
SET pg_asyncscan.enabled = off;
BEGIN;
SELECT * FROM cursor_snapshot_count();
ROLLBACK;
RESET pg_asyncscan.enabled;

--
-- WITH HOLD: at COMMIT the cursor's query is rewound (a rescan) and run to
-- completion into a tuplestore; fetching continues where it stopped
--
CALL evict('cr');
BEGIN;
DECLARE c7 CURSOR WITH HOLD FOR SELECT id FROM cr WHERE id % 1000 = 0;
FETCH 3 FROM c7;
COMMIT;
FETCH 3 FROM c7;
FETCH ALL FROM c7;
CLOSE c7;
-- declared outside a transaction block: materialized at once
DECLARE c8 CURSOR WITH HOLD FOR SELECT count(*), sum(id) FROM cr;
FETCH ALL FROM c8;
CLOSE c8;

--
-- UPDATE/DELETE ... WHERE CURRENT OF a cursor scanned by AsyncSeqScan
-- (no FOR UPDATE: the current row is found through the node's scan slot)
--
BEGIN;
DECLARE c9 CURSOR FOR SELECT id, val FROM cr WHERE grp = 3;
FETCH 2 FROM c9;
UPDATE cr SET val = 'current' WHERE CURRENT OF c9;
FETCH 1 FROM c9;
DELETE FROM cr WHERE CURRENT OF c9;
SELECT id, val FROM cr WHERE val = 'current' OR id = 43;
SELECT count(*) FROM cr;
ROLLBACK;

--
-- Rescans and cursors with the io_uring method (which this suite
-- requires: the SET fails where the build or the kernel does not offer
-- it).  The rolled-back UPDATE and DELETE above cleared the all-visible
-- bits of the blocks they touched: cr is vacuumed again first, so that
-- the scans below take the direct path and io_uring does their reading.
-- The rescanned inner side reads with io_uring, directly, with reads in
-- flight at its submissions (sync would show 0).
--
VACUUM cr;
\set ECHO none
SELECT * FROM revacuum('cr') \gexec
\set ECHO all
SET pg_asyncscan.io_method = io_uring;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
CALL evict('cr');
SELECT c->>'IO Method' AS io_method, (c->>'Actual Loops')::int AS loops,
       (c->>'Pages Direct')::int > 0 AS direct,
       (c->>'Max In-Flight')::int >= 1 AS reads_in_flight
FROM scan_counters('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k', 'cr') AS c;
SELECT * FROM compare('SELECT o.k, c.id FROM cr_outer o JOIN cr c ON c.grp = o.k');
SELECT * FROM compare($$
  SELECT o.k, l.id FROM cr_outer o,
    LATERAL (SELECT id FROM cr c WHERE c.grp = o.k LIMIT 3) l$$);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
CALL evict('cr');
BEGIN;
SELECT * FROM cursor_snapshot_count();
ROLLBACK;
CALL evict('cr');
BEGIN;
DECLARE c10 CURSOR WITH HOLD FOR SELECT id FROM cr WHERE id % 1000 = 0;
FETCH 3 FROM c10;
COMMIT;
FETCH ALL FROM c10;
CLOSE c10;
RESET pg_asyncscan.io_method;

DROP FUNCTION cursor_snapshot_count();
DROP FUNCTION compare(text);
DROP TABLE cr, cr_outer;
\i sql/include/helpers_drop.sql
