--
-- planner: where the planner uses Custom Scan (AsyncSeqScan) and where it
-- must not.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;
-- EXPLAIN VERBOSE would name a patched server's storage hooks
-- (sql/storage_hooks.sql): off, so that plans print the same everywhere
SET pg_asyncscan.storage_hooks = off;

CREATE TABLE pl_big (id int PRIMARY KEY, grp int, val text)
  WITH (autovacuum_enabled = off);
INSERT INTO pl_big
  SELECT g, g % 10, md5(g::text) FROM generate_series(1, 20000) g;
CREATE TABLE pl_small (id int, name text) WITH (autovacuum_enabled = off);
INSERT INTO pl_small SELECT g, 'n' || g FROM generate_series(1, 100) g;
VACUUM ANALYZE pl_big, pl_small;

-- a plain scan of a large table
EXPLAIN (COSTS OFF) SELECT * FROM pl_big;
EXPLAIN (COSTS OFF) SELECT grp, count(*) FROM pl_big WHERE val LIKE 'a%' GROUP BY grp;
-- quals and the projection are evaluated by the node itself
EXPLAIN (VERBOSE, COSTS OFF) SELECT id * 2, upper(val) FROM pl_big WHERE grp = 3;

--
-- pg_asyncscan.min_relation_size: below it a Seq Scan, at or above it
-- AsyncSeqScan.  The relation size the planner sees is its current number
-- of blocks.
--
SELECT pg_relation_size('pl_big') / current_setting('block_size')::int AS pl_big_blocks,
       pg_relation_size('pl_big') / current_setting('block_size')::int + 1 AS pl_big_blocks_plus_one
\gset
SET pg_asyncscan.min_relation_size = :pl_big_blocks;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
SET pg_asyncscan.min_relation_size = :pl_big_blocks_plus_one;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
-- the default, 1024 blocks = 8MB, is larger than pl_big
RESET pg_asyncscan.min_relation_size;
SELECT :pl_big_blocks < 1024 AS below_default;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
-- with units
SET pg_asyncscan.min_relation_size = '64kB';
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
SET pg_asyncscan.min_relation_size = '1GB';
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
SET pg_asyncscan.min_relation_size = 0;

-- pg_asyncscan.enabled = off: a plain Seq Scan
SET pg_asyncscan.enabled = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
RESET pg_asyncscan.enabled;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;

-- enable_seqscan = off disables AsyncSeqScan exactly as it disables a Seq
-- Scan: with an index available the index is used ...
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE id > 100;
-- ... and without one both scans are disabled.  Before PostgreSQL 18 both
-- carry the same disable_cost, which swamps AsyncSeqScan's discount: the
-- costs are fuzzily equal and the Seq Scan, offered first, is kept.  From
-- 18 on both count one disabled node and the cheaper, AsyncSeqScan, wins,
-- shown as "Disabled: true" (planner_1.out).
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_small;
RESET enable_seqscan;

-- a selective indexed predicate still gets an index or bitmap scan: the
-- AsyncSeqScan discount (at most 25%) does not beat a clear index win
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE id = 42;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE id < 200;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE id IN (1, 500, 19000);
-- but an unselective one scans the table
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE id > 100;

--
-- Not offered where the scan's rows are modified or locked by the
-- statement: those need EvalPlanQual rechecks, which AsyncSeqScan does not
-- do.
--
-- UPDATE and DELETE targets
EXPLAIN (COSTS OFF) UPDATE pl_big SET val = val WHERE grp = 1;
EXPLAIN (COSTS OFF) DELETE FROM pl_big WHERE grp = 1;
-- a table joined by UPDATE ... FROM / DELETE ... USING is not the target
-- but carries a row mark (for EvalPlanQual): a Seq Scan as well, while the
-- SELECT of the same join uses AsyncSeqScan for both tables
EXPLAIN (COSTS OFF)
  UPDATE pl_small s SET name = b.val FROM pl_big b WHERE b.grp = s.id AND b.val = 'x';
EXPLAIN (COSTS OFF)
  DELETE FROM pl_small s USING pl_big b WHERE b.grp = s.id AND b.val = 'x';
EXPLAIN (COSTS OFF)
  SELECT s.name, b.val FROM pl_small s, pl_big b WHERE b.grp = s.id AND b.val = 'x';
-- MERGE: the target is modified, the source carries a row mark
EXPLAIN (COSTS OFF)
  MERGE INTO pl_small s USING pl_big b ON b.id = s.id
  WHEN MATCHED THEN UPDATE SET name = b.val
  WHEN NOT MATCHED THEN INSERT VALUES (b.id, b.val);
-- a table read only inside a subquery expression of an UPDATE is neither
-- modified nor marked: its scan may be an AsyncSeqScan
EXPLAIN (COSTS OFF)
  UPDATE pl_small s SET name = (SELECT max(val) FROM pl_big b WHERE b.grp = s.id);
-- SELECT ... FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE / FOR KEY SHARE
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE grp = 1 FOR UPDATE;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE grp = 1 FOR NO KEY UPDATE;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE grp = 1 FOR SHARE;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE grp = 1 FOR KEY SHARE;
-- FOR UPDATE OF one table: only that one loses AsyncSeqScan
EXPLAIN (COSTS OFF)
  SELECT * FROM pl_big b JOIN pl_small s ON s.id = b.grp FOR UPDATE OF s;
-- the source of INSERT ... SELECT is neither modified nor locked
CREATE TABLE pl_copy (LIKE pl_big) WITH (autovacuum_enabled = off);
EXPLAIN (COSTS OFF) INSERT INTO pl_copy SELECT * FROM pl_big WHERE grp = 2;
INSERT INTO pl_copy SELECT * FROM pl_big WHERE grp = 2;
SELECT count(*), sum(id) FROM pl_copy;
-- nor is the source of INSERT ... ON CONFLICT
EXPLAIN (COSTS OFF)
  INSERT INTO pl_copy SELECT * FROM pl_big ON CONFLICT DO NOTHING;
-- nor is the source of an INSERT in a data-modifying CTE
EXPLAIN (COSTS OFF)
  WITH ins AS (INSERT INTO pl_copy SELECT * FROM pl_big WHERE grp = 2 RETURNING id)
  SELECT count(*) FROM ins;

--
-- Relations it is not offered for
--
-- system catalogs (index scans off, so that a sequential scan is chosen)
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pg_class;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pg_attribute WHERE attnum > 0;
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;
-- temporary tables: their pages live in the backend's local buffers, which
-- AsyncSeqScan does not support yet
CREATE TEMP TABLE pl_temp AS SELECT * FROM pl_big;
ANALYZE pl_temp;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_temp;
-- TABLESAMPLE
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big TABLESAMPLE SYSTEM (50);
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_big TABLESAMPLE BERNOULLI (50);
-- materialized views are not plain tables
CREATE MATERIALIZED VIEW pl_mv WITH (autovacuum_enabled = off) AS
  SELECT * FROM pl_big;
ANALYZE pl_mv;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_mv;
-- but a view over a table is just the table
CREATE VIEW pl_view AS SELECT id, grp FROM pl_big WHERE grp < 5;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_view;

--
-- Relations it is offered for
--
-- unlogged tables use shared buffers like permanent ones
CREATE UNLOGGED TABLE pl_unlogged WITH (autovacuum_enabled = off)
  AS SELECT * FROM pl_big;
ANALYZE pl_unlogged;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_unlogged;
-- each partition of a partitioned table, and each child of an
-- inheritance tree; never the (empty) parent
CREATE TABLE pl_part (id int, grp int, val text) PARTITION BY RANGE (id);
CREATE TABLE pl_part_1 PARTITION OF pl_part FOR VALUES FROM (1) TO (10001)
  WITH (autovacuum_enabled = off);
CREATE TABLE pl_part_2 PARTITION OF pl_part FOR VALUES FROM (10001) TO (20001)
  WITH (autovacuum_enabled = off);
CREATE TABLE pl_part_def PARTITION OF pl_part DEFAULT
  WITH (autovacuum_enabled = off);
INSERT INTO pl_part SELECT g, g % 10, md5(g::text) FROM generate_series(1, 25000) g;
ANALYZE pl_part;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_part;
-- partition pruning happens before: only the partitions left are scanned
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_part WHERE id > 15000;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_part WHERE id > 30000;
-- a partition by itself
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_part_2;
-- and min_relation_size applies to each partition on its own: the default
-- partition (5000 rows) is the smallest
SELECT pg_relation_size('pl_part_def') / current_setting('block_size')::int + 1
  AS def_blocks_plus_one
\gset
SET pg_asyncscan.min_relation_size = :def_blocks_plus_one;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_part;
SET pg_asyncscan.min_relation_size = 0;
-- inheritance: parent and children, each scanned by its own node
CREATE TABLE pl_inh_parent (id int, val text) WITH (autovacuum_enabled = off);
CREATE TABLE pl_inh_child (extra int) INHERITS (pl_inh_parent)
  WITH (autovacuum_enabled = off);
INSERT INTO pl_inh_parent SELECT g, 'p' FROM generate_series(1, 1000) g;
INSERT INTO pl_inh_child SELECT g, 'c', g FROM generate_series(1, 1000) g;
ANALYZE pl_inh_parent, pl_inh_child;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pl_inh_parent;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ONLY pl_inh_parent;
-- UNION ALL branches
EXPLAIN (COSTS OFF)
  SELECT id FROM pl_big WHERE grp = 1 UNION ALL SELECT id FROM pl_unlogged WHERE grp = 2;

--
-- Cursors: AsyncSeqScan cannot scan backward, so a SCROLL cursor gets a
-- Materialize node above it; a NO SCROLL cursor does not
--
EXPLAIN (COSTS OFF) DECLARE c SCROLL CURSOR FOR SELECT * FROM pl_big;
EXPLAIN (COSTS OFF) DECLARE c NO SCROLL CURSOR FOR SELECT * FROM pl_big;
EXPLAIN (COSTS OFF) DECLARE c CURSOR WITH HOLD FOR SELECT * FROM pl_big;

--
-- Joins
--
-- the usual hash join, AsyncSeqScan on both sides
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_big b JOIN pl_unlogged u ON u.id = b.id;
-- nested loops: with a Materialize above the inner AsyncSeqScan it is
-- scanned once ...
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_big b JOIN pl_unlogged u ON u.grp = b.grp WHERE u.id < 50;
-- ... without one (enable_material = off) the node itself is the inner
-- side, rescanned for every outer row
SET enable_material = off;
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_small s JOIN pl_unlogged u ON u.grp = s.id;
-- merge join: AsyncSeqScan yields no useful order, so both sides are
-- sorted (and the Sort, not the scan, supplies mark/restore)
SET enable_nestloop = off;
SET enable_mergejoin = on;
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_small s JOIN pl_unlogged u ON u.grp = s.id;
RESET enable_nestloop;
RESET enable_material;
RESET enable_mergejoin;
RESET enable_hashjoin;
-- the same table twice in one query
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_big a JOIN pl_big b ON a.id = b.id + 1;
-- a correlated subquery: its scan is rescanned per outer row
EXPLAIN (COSTS OFF)
  SELECT s.id, (SELECT count(*) FROM pl_unlogged u WHERE u.grp = s.id) FROM pl_small s;
-- an uncorrelated one is an InitPlan, scanned once
EXPLAIN (COSTS OFF)
  SELECT * FROM pl_small s WHERE s.id > (SELECT max(grp) FROM pl_big);
-- semi and anti joins
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_small s WHERE EXISTS (SELECT 1 FROM pl_unlogged u WHERE u.grp = s.id);
EXPLAIN (COSTS OFF)
  SELECT count(*) FROM pl_small s WHERE NOT EXISTS (SELECT 1 FROM pl_unlogged u WHERE u.grp = s.id);

-- prepared statements keep their plan; a generic plan uses the node too
PREPARE pl_q(int) AS SELECT count(*) FROM pl_big WHERE grp = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE pl_q(3);
EXECUTE pl_q(3);
RESET plan_cache_mode;
DEALLOCATE pl_q;

-- constant-false quals: no scan at all; a pseudoconstant qual becomes a
-- gating Result above the node
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE false;
EXPLAIN (COSTS OFF) SELECT * FROM pl_big WHERE now() IS NULL;

-- An Agg reading the node gets whole rows, as from a Seq Scan (no
-- projection per row: Output lists every column) ...
EXPLAIN (VERBOSE, COSTS OFF) SELECT sum(id), max(val) FROM pl_big;
SET enable_sort = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT grp, count(*) FROM pl_big GROUP BY grp;
RESET enable_sort;
SET pg_asyncscan.enabled = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT grp, count(*) FROM pl_big GROUP BY grp;
RESET pg_asyncscan.enabled;
-- ... but a Sort (here under a join) gets only the columns it needs, and
-- so does a table with a dropped column, or a whole-row reference
SET enable_hashagg = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT grp, count(*) FROM pl_big GROUP BY grp;
RESET enable_hashagg;
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT count(*) FROM pl_small s JOIN pl_big b ON b.id = s.id;
ALTER TABLE pl_unlogged DROP COLUMN grp;
EXPLAIN (VERBOSE, COSTS OFF) SELECT max(val) FROM pl_unlogged;
EXPLAIN (VERBOSE, COSTS OFF) SELECT max(b::text) FROM pl_big b;

DROP VIEW pl_view;
DROP MATERIALIZED VIEW pl_mv;
DROP TABLE pl_big, pl_small, pl_copy, pl_temp, pl_unlogged, pl_part,
  pl_inh_parent, pl_inh_child;
