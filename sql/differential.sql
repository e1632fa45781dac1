--
-- differential: AsyncSeqScan must return exactly the rows a Seq Scan
-- returns -- the same multiset of rows, system columns included -- for
-- every table shape, query shape and setting.
--
-- check_same(query) plans the query with pg_asyncscan.enabled on and
-- raises an error unless the plan contains an AsyncSeqScan (so that no
-- comparison can pass vacuously), runs it, runs it again with the
-- extension disabled (plain Seq Scans), and compares the two results as
-- multisets of rows.  It returns (rows_on, rows_off, missing, extra):
-- missing = rows only the Seq Scan returned, extra = rows only AsyncSeqScan
-- returned; both must be 0.
--
-- Direct path.  A block takes the direct path only if it is all-visible and
-- not in shared buffers.  Tables freshly loaded or just scanned by a Seq
-- Scan sit in shared buffers (they are far smaller than shared_buffers, so
-- no ring buffer evicts them), and there AsyncSeqScan would only ever see
-- shared-buffer hits.  So before the AsyncSeqScan run, check_same moves
-- every relation it scans to another tablespace (or back): ALTER TABLE ...
-- SET TABLESPACE copies all forks file by file, visibility map included,
-- without going through shared buffers, and the new relfilenode has no
-- buffers at all.  The table keeps its exact pages -- line pointers, HOT
-- chains, all-visible bits -- and AsyncSeqScan reads every all-visible
-- block directly and every other block through shared buffers.  The
-- tablespace is an in-place one (allow_in_place_tablespaces, superuser
-- only), created inside the data directory and dropped at the end.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

-- evict(), revacuum() and the in-place tablespace they use
\i sql/include/helpers.sql

-- The relations a query scans with AsyncSeqScan (error if none).
CREATE FUNCTION async_scanned(query text) RETURNS SETOF regclass
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    n int := 0;
    rel text;
BEGIN
    EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE, FORMAT JSON) ' || query INTO plan;
    FOR rel IN
        SELECT DISTINCT format('%I.%I', node->>'Schema', node->>'Relation Name')
        FROM jsonb_path_query(plan,
            'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")') AS node
    LOOP
        n := n + 1;
        RETURN NEXT rel::regclass;
    END LOOP;
    IF n = 0 THEN
        RAISE EXCEPTION 'no AsyncSeqScan in the plan of: %', query;
    END IF;
END;
$$;

CREATE FUNCTION check_same(query text, evict_first boolean DEFAULT true,
                           OUT rows_on bigint, OUT rows_off bigint,
                           OUT missing bigint, OUT extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
    -- each row in its text form; x::text includes every column
    stmt constant text := format('SELECT array_agg(x::text) FROM (%s) x', query);
    saved constant text := current_setting('pg_asyncscan.enabled');
    rels regclass[];
    rel regclass;
    on_rows text[];
    off_rows text[];
    plan text;
BEGIN
    PERFORM set_config('pg_asyncscan.enabled', 'on', true);
    SELECT array_agg(r) INTO rels FROM async_scanned(stmt) AS r;
    IF evict_first THEN
        FOREACH rel IN ARRAY rels LOOP
            CALL evict(rel);
        END LOOP;
    END IF;
    EXECUTE stmt INTO on_rows;

    PERFORM set_config('pg_asyncscan.enabled', 'off', true);
    FOR plan IN EXECUTE 'EXPLAIN (COSTS OFF) ' || stmt LOOP
        IF plan LIKE '%AsyncSeqScan%' THEN
            RAISE EXCEPTION 'AsyncSeqScan with pg_asyncscan.enabled = off';
        END IF;
    END LOOP;
    EXECUTE stmt INTO off_rows;
    PERFORM set_config('pg_asyncscan.enabled', saved, true);

    rows_on := coalesce(cardinality(on_rows), 0);
    rows_off := coalesce(cardinality(off_rows), 0);
    SELECT count(*) INTO missing
    FROM (SELECT unnest(off_rows) EXCEPT ALL SELECT unnest(on_rows)) d;
    SELECT count(*) INTO extra
    FROM (SELECT unnest(on_rows) EXCEPT ALL SELECT unnest(off_rows)) d;
END;
$$;

-- For queries with a total ORDER BY: the same rows in the same order.
CREATE FUNCTION check_same_ordered(query text,
                                   OUT rows_on bigint, OUT rows_off bigint,
                                   OUT identical boolean)
LANGUAGE plpgsql AS $$
DECLARE
    stmt constant text := format('SELECT array_agg(x::text) FROM (%s) x', query);
    saved constant text := current_setting('pg_asyncscan.enabled');
    rel regclass;
    on_rows text[];
    off_rows text[];
BEGIN
    PERFORM set_config('pg_asyncscan.enabled', 'on', true);
    FOR rel IN SELECT * FROM async_scanned(stmt) LOOP
        CALL evict(rel);
    END LOOP;
    EXECUTE stmt INTO on_rows;
    PERFORM set_config('pg_asyncscan.enabled', 'off', true);
    EXECUTE stmt INTO off_rows;
    PERFORM set_config('pg_asyncscan.enabled', saved, true);
    rows_on := coalesce(cardinality(on_rows), 0);
    rows_off := coalesce(cardinality(off_rows), 0);
    identical := on_rows IS NOT DISTINCT FROM off_rows;
END;
$$;

-- check_same under other settings of the read stream
CREATE FUNCTION check_same_with(query text, io_depth int, io_combine_limit int,
                                direct_reads boolean,
                                OUT rows_on bigint, OUT rows_off bigint,
                                OUT missing bigint, OUT extra bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('pg_asyncscan.io_depth', io_depth::text, true);
    PERFORM set_config('pg_asyncscan.io_combine_limit', io_combine_limit::text, true);
    PERFORM set_config('pg_asyncscan.direct_reads', direct_reads::text, true);
    SELECT * INTO rows_on, rows_off, missing, extra FROM check_same(query);
    PERFORM set_config('pg_asyncscan.io_depth', '16', true);
    PERFORM set_config('pg_asyncscan.io_combine_limit', '16', true);
    PERFORM set_config('pg_asyncscan.direct_reads', 'on', true);
END;
$$;

-- How the blocks of a query's AsyncSeqScan nodes were read, after
-- evicting them: proves that a table shape really exercises the direct
-- path, the buffered path, or both.
CREATE FUNCTION paths_used(query text, OUT direct boolean, OUT buffered boolean)
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    rel regclass;
BEGIN
    FOR rel IN SELECT * FROM async_scanned(query) LOOP
        CALL evict(rel);
    END LOOP;
    EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query
        INTO plan;
    SELECT sum((n->>'Pages Direct')::bigint) > 0,
           sum((n->>'Pages Hit')::bigint + (n->>'Pages Read')::bigint) > 0
      INTO direct, buffered
      FROM jsonb_path_query(plan,
          'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")') AS n;
END;
$$;

-- the safety net itself: no AsyncSeqScan, no comparison
SELECT * FROM check_same('SELECT relname FROM pg_class');

--
-- Shape: empty table (never analyzed: the planner assumes 10 pages)
--
CREATE TABLE d_empty (id int, val text) WITH (autovacuum_enabled = off);
SELECT v.label, c.* FROM (VALUES
    ('all',     'SELECT * FROM d_empty'),
    ('count',   'SELECT count(*), sum(id) FROM d_empty'),
    ('ctid',    'SELECT ctid, xmin, * FROM d_empty'),
    ('filter',  'SELECT * FROM d_empty WHERE id > 0')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: exactly one block
--
CREATE TABLE d_one (id int, val text) WITH (autovacuum_enabled = off);
INSERT INTO d_one SELECT g, 'one ' || g FROM generate_series(1, 100) g;
VACUUM ANALYZE d_one;
\set ECHO none
SELECT * FROM revacuum('d_one') \gexec
\set ECHO all
SELECT pg_relation_size('d_one') = 8192 AS one_block;
SELECT * FROM paths_used('SELECT * FROM d_one');
SELECT v.label, c.* FROM (VALUES
    ('all',     'SELECT * FROM d_one'),
    ('ctid',    'SELECT ctid, xmin, xmax, tableoid::regclass, * FROM d_one'),
    ('count',   'SELECT count(*), sum(id), max(val) FROM d_one'),
    ('filter',  'SELECT id FROM d_one WHERE id % 7 = 3'),
    ('none',    'SELECT * FROM d_one WHERE id < 0'),
    ('limit',   'SELECT * FROM d_one LIMIT 1')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: many blocks (more than the default look-ahead window of
-- io_depth * io_combine_limit = 256 blocks), all-visible after VACUUM
--
CREATE TABLE d_many (id int, grp int, num numeric, flag boolean, val text)
  WITH (autovacuum_enabled = off);
INSERT INTO d_many
  SELECT g, g % 100, g * 1.5, g % 3 = 0, 'value ' || g
  FROM generate_series(1, 60000) g;
VACUUM ANALYZE d_many;
\set ECHO none
SELECT * FROM revacuum('d_many') \gexec
\set ECHO all
SELECT pg_relation_size('d_many') / 8192 > 256 AS more_than_window;
SELECT * FROM paths_used('SELECT * FROM d_many');
-- A LIMIT without ORDER BY may return any rows: 'limit count' compares
-- only how many.  'limit first' and 'offset' compare the rows themselves,
-- which holds here because both scans read from block 0 on in block order
-- (a Seq Scan starts elsewhere only for tables larger than a quarter of
-- shared_buffers, with synchronize_seqscans).
SELECT v.label, c.* FROM (VALUES
    ('all',         'SELECT * FROM d_many'),
    ('system cols', 'SELECT ctid, xmin, xmax, cmin, tableoid::regclass, * FROM d_many'),
    ('whole row',   'SELECT d FROM d_many d WHERE grp = 5'),
    ('row text',    'SELECT d::text, row_to_json(d) FROM d_many d WHERE id % 1000 = 0'),
    ('filter',      'SELECT id, val FROM d_many WHERE grp = 42 AND flag'),
    ('filter or',   'SELECT id FROM d_many WHERE num > 80000 OR val LIKE ''%77'''),
    ('filter none', 'SELECT * FROM d_many WHERE id < 0'),
    ('expr',        'SELECT id * 2 AS twice, upper(val), num / 3, NOT flag, grp::text || ''x'' FROM d_many'),
    ('constant',    'SELECT 1 AS one FROM d_many'),
    ('count',       'SELECT count(*) FROM d_many'),
    ('aggregates',  'SELECT count(*), sum(id), sum(num), min(val), max(val), bool_and(flag), avg(grp) FROM d_many'),
    ('group by',    'SELECT grp, count(*), sum(num), string_agg(val, '','' ORDER BY id) FROM d_many GROUP BY grp'),
    ('having',      'SELECT flag, grp, count(*) FROM d_many GROUP BY flag, grp HAVING count(*) > 100'),
    ('distinct',    'SELECT DISTINCT grp % 7, flag FROM d_many'),
    ('window',      'SELECT id, rank() OVER (PARTITION BY grp ORDER BY id DESC) FROM d_many WHERE id % 10 = 0'),
    ('limit count', 'SELECT count(*) FROM (SELECT * FROM d_many WHERE grp = 3 LIMIT 100) s'),
    ('limit first', 'SELECT ctid, * FROM d_many LIMIT 250'),
    ('offset',      'SELECT ctid, id FROM d_many OFFSET 59990'),
    ('self join',   'SELECT a.id, b.id FROM d_many a JOIN d_many b ON b.id = a.id + 1 WHERE a.grp = 7'),
    ('self join 2', 'SELECT count(*), sum(a.id - b.id) FROM d_many a, d_many b WHERE a.grp = b.grp AND a.id % 1000 = 0 AND b.id % 1000 = 1'),
    ('join',        'SELECT o.val, m.val FROM d_one o JOIN d_many m ON m.id = o.id * 100'),
    ('semi join',   'SELECT * FROM d_one o WHERE EXISTS (SELECT 1 FROM d_many m WHERE m.grp = o.id AND m.flag)'),
    ('anti join',   'SELECT * FROM d_one o WHERE NOT EXISTS (SELECT 1 FROM d_many m WHERE m.id = o.id * 1000)'),
    ('in list',     'SELECT * FROM d_many WHERE id IN (1, 2, 30000, 60000, 60001)'),
    ('union',       'SELECT id FROM d_many WHERE grp = 1 UNION SELECT id + 1 FROM d_many WHERE grp = 2'),
    ('cte',         'WITH c AS MATERIALIZED (SELECT * FROM d_many WHERE flag) SELECT grp, count(*) FROM c GROUP BY grp')
) v(label, q), LATERAL check_same(v.q) c;

-- ORDER BY with a total order: same rows in the same order
SELECT v.label, c.* FROM (VALUES
    ('order by',       'SELECT * FROM d_many ORDER BY id DESC'),
    ('order limit',    'SELECT id, val FROM d_many WHERE flag ORDER BY num DESC, id LIMIT 17'),
    ('order ctid',     'SELECT ctid, id FROM d_many WHERE grp = 99 ORDER BY ctid'),
    ('top-n per grp',  'SELECT grp, max(id) FROM d_many GROUP BY grp ORDER BY grp')
) v(label, q), LATERAL check_same_ordered(v.q) c;

-- other settings of the read stream: window of one block, one-block reads,
-- the largest reads and window, odd sizes, and the direct path off
SELECT s.*, c.*
FROM (VALUES (1, 1, true), (1, 64, true), (2, 2, true), (3, 5, true),
             (64, 1, true), (128, 64, true), (16, 16, false), (1, 1, false))
       AS s(io_depth, io_combine_limit, direct_reads),
     LATERAL check_same_with('SELECT ctid, * FROM d_many', s.io_depth,
                             s.io_combine_limit, s.direct_reads) c;
SELECT s.*, c.*
FROM (VALUES (1, 1, true), (2, 3, true), (128, 64, true), (4, 4, false))
       AS s(io_depth, io_combine_limit, direct_reads),
     LATERAL check_same_with('SELECT a.id, b.val FROM d_many a JOIN d_many b ON a.id = b.id WHERE a.grp < 3',
                             s.io_depth, s.io_combine_limit, s.direct_reads) c;

--
-- Shape: wide rows and TOAST -- compressed inline, compressed external,
-- uncompressed external (STORAGE EXTERNAL), and incompressible data
--
CREATE TABLE d_toast (id int, compressible text, incompressible text,
                      ext text, small text)
  WITH (autovacuum_enabled = off);
ALTER TABLE d_toast ALTER COLUMN ext SET STORAGE EXTERNAL;
INSERT INTO d_toast
  SELECT g,
         repeat(md5(g::text), 200),
         (SELECT string_agg(md5(g::text || '-' || i), '') FROM generate_series(1, 150) i),
         CASE WHEN g % 2 = 0 THEN repeat('e', 3000 + g) END,
         'small ' || g
  FROM generate_series(1, 300) g;
VACUUM ANALYZE d_toast;
\set ECHO none
SELECT * FROM revacuum('d_toast') \gexec
\set ECHO all
-- the table really has values in every storage form
SELECT count(*) FILTER (WHERE pg_column_size(compressible) < length(compressible)) AS compressed,
       count(*) FILTER (WHERE pg_column_size(incompressible) >= length(incompressible)) AS not_compressed,
       pg_relation_size(reltoastrelid) > 0 AS has_toast
FROM d_toast, pg_class WHERE pg_class.oid = 'd_toast'::regclass
GROUP BY 3;
SELECT * FROM paths_used('SELECT * FROM d_toast');
SELECT v.label, c.* FROM (VALUES
    ('all',       'SELECT * FROM d_toast'),
    ('ctid',      'SELECT ctid, xmin, id, md5(compressible), md5(incompressible), md5(ext) FROM d_toast'),
    ('lengths',   'SELECT id, length(compressible), length(incompressible), length(ext), octet_length(small) FROM d_toast'),
    ('filter',    'SELECT id, small FROM d_toast WHERE incompressible LIKE ''%abc%'''),
    ('substr',    'SELECT id, substr(ext, 2990, 20), substr(compressible, 6000) FROM d_toast WHERE id % 3 = 0'),
    ('whole row', 'SELECT md5(t::text) FROM d_toast t'),
    ('aggregate', 'SELECT sum(length(compressible || incompressible)), count(ext) FROM d_toast')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: many NULLs (null bitmaps of every pattern)
--
CREATE TABLE d_nulls (id int, a int, b text, c numeric, d boolean, e date,
                      f int, g text, h int)
  WITH (autovacuum_enabled = off);
INSERT INTO d_nulls
  SELECT i,
         CASE WHEN i % 2 = 0 THEN i END,
         CASE WHEN i % 3 = 0 THEN 'b' || i END,
         CASE WHEN i % 5 = 0 THEN i / 7.0 END,
         CASE WHEN i % 7 = 0 THEN i % 2 = 0 END,
         CASE WHEN i % 11 = 0 THEN date '2020-01-01' + i END,
         NULL,
         CASE WHEN i % 13 <> 0 THEN NULL ELSE 'g' END,
         CASE WHEN i % 100 = 0 THEN NULL ELSE i END
  FROM generate_series(1, 20000) i;
INSERT INTO d_nulls (id) SELECT -i FROM generate_series(1, 500) i;
VACUUM ANALYZE d_nulls;
\set ECHO none
SELECT * FROM revacuum('d_nulls') \gexec
\set ECHO all
SELECT * FROM paths_used('SELECT * FROM d_nulls');
SELECT v.label, c.* FROM (VALUES
    ('all',        'SELECT * FROM d_nulls'),
    ('ctid',       'SELECT ctid, * FROM d_nulls WHERE id % 17 = 0'),
    ('counts',     'SELECT count(*), count(a), count(b), count(c), count(d), count(e), count(f), count(g), count(h) FROM d_nulls'),
    ('is null',    'SELECT id FROM d_nulls WHERE a IS NULL AND b IS NULL AND c IS NOT NULL'),
    ('distinct',   'SELECT id FROM d_nulls WHERE d IS DISTINCT FROM true'),
    ('coalesce',   'SELECT id, coalesce(a, h, -1), coalesce(b, g, ''-'') FROM d_nulls'),
    ('all null',   'SELECT * FROM d_nulls WHERE id < 0'),
    ('group null', 'SELECT d, e IS NULL, count(*) FROM d_nulls GROUP BY 1, 2')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: dropped and added columns.  Rows written before an ADD COLUMN
-- have fewer attributes than the tuple descriptor: the new column reads as
-- NULL, or as its default (the "missing" value) when it was added with
-- one.  Dropped columns stay in old rows but are never returned.
--
CREATE TABLE d_alter (id int, a text, b int, c text)
  WITH (autovacuum_enabled = off);
INSERT INTO d_alter SELECT g, 'a' || g, g * 10, 'c' || g FROM generate_series(1, 8000) g;
ALTER TABLE d_alter DROP COLUMN b;
ALTER TABLE d_alter ADD COLUMN d int;
ALTER TABLE d_alter ADD COLUMN e text DEFAULT 'missing';
INSERT INTO d_alter SELECT g, 'a' || g, 'c' || g, g, 'e' || g FROM generate_series(8001, 10000) g;
ALTER TABLE d_alter ADD COLUMN f int NOT NULL DEFAULT 42;
ALTER TABLE d_alter DROP COLUMN a;
INSERT INTO d_alter SELECT g, 'c' || g, NULL, NULL, g FROM generate_series(10001, 11000) g;
VACUUM ANALYZE d_alter;
\set ECHO none
SELECT * FROM revacuum('d_alter') \gexec
\set ECHO all
SELECT * FROM paths_used('SELECT * FROM d_alter');
SELECT count(*) FILTER (WHERE e = 'missing') AS e_missing,
       count(*) FILTER (WHERE d IS NULL) AS d_null,
       count(*) FILTER (WHERE f = 42) AS f_default
FROM d_alter;
SELECT v.label, c.* FROM (VALUES
    ('all',       'SELECT * FROM d_alter'),
    ('ctid',      'SELECT ctid, xmin, * FROM d_alter'),
    ('whole row', 'SELECT t FROM d_alter t'),
    ('missing',   'SELECT id, e, f FROM d_alter WHERE e = ''missing'' AND f = 42'),
    ('filter',    'SELECT id FROM d_alter WHERE d IS NULL OR e IS NULL'),
    ('group',     'SELECT e = ''missing'', f, count(*) FROM d_alter GROUP BY 1, 2')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: HOT chains.  Repeated updates of a non-indexed column leave
-- heap-only tuples and redirect line pointers on the pages.  Before VACUUM
-- the updated pages are not all-visible: read directly, each tuple judged
-- from its header (and, with direct reads off, through shared buffers with
-- per-tuple visibility); after it they are all-visible, and the direct
-- path must skip redirect and unused line pointers.
--
CREATE TABLE d_hot (id int PRIMARY KEY, counter int, val text)
  WITH (fillfactor = 50, autovacuum_enabled = off);
INSERT INTO d_hot SELECT g, 0, 'hot ' || g FROM generate_series(1, 6000) g;
VACUUM ANALYZE d_hot;
\set ECHO none
SELECT * FROM revacuum('d_hot') \gexec
\set ECHO all
CREATE TABLE d_hot_before WITH (autovacuum_enabled = off) AS
  SELECT id, ctid AS tid FROM d_hot;
UPDATE d_hot SET counter = counter + 1 WHERE id % 3 = 0;
UPDATE d_hot SET counter = counter + 1 WHERE id % 3 = 0;
UPDATE d_hot SET counter = counter + 1, val = val || '+' WHERE id % 6 = 0;
UPDATE d_hot SET counter = counter + 1 WHERE id % 3 = 0;
DELETE FROM d_hot WHERE id % 50 = 0;
-- every updated row stayed on its page: the updates were HOT
SELECT count(*) AS moved_to_other_page
FROM d_hot h JOIN d_hot_before b USING (id)
WHERE (h.ctid::text::point)[0] <> (b.tid::text::point)[0];
SELECT * FROM paths_used('SELECT * FROM d_hot');
SELECT v.label, c.* FROM (VALUES
    ('all',     'SELECT * FROM d_hot'),
    ('ctid',    'SELECT ctid, xmin, xmax, * FROM d_hot'),
    ('updated', 'SELECT id, counter, val FROM d_hot WHERE counter > 0'),
    ('count',   'SELECT counter, count(*) FROM d_hot GROUP BY counter')
) v(label, q), LATERAL check_same(v.q) c;
-- the same through shared buffers (direct reads off)
SELECT v.label, c.* FROM (VALUES
    ('all',     'SELECT * FROM d_hot'),
    ('ctid',    'SELECT ctid, xmin, xmax, * FROM d_hot'),
    ('updated', 'SELECT id, counter, val FROM d_hot WHERE counter > 0')
) v(label, q), LATERAL check_same_with(v.q, 16, 16, false) c;
VACUUM d_hot;
\set ECHO none
SELECT * FROM revacuum('d_hot') \gexec
\set ECHO all
SELECT * FROM paths_used('SELECT * FROM d_hot');
SELECT v.label, c.* FROM (VALUES
    ('all',     'SELECT * FROM d_hot'),
    ('ctid',    'SELECT ctid, xmin, xmax, * FROM d_hot'),
    ('updated', 'SELECT id, counter, val FROM d_hot WHERE counter > 0'),
    ('count',   'SELECT counter, count(*) FROM d_hot GROUP BY counter')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: partly all-visible.  VACUUM, then update, delete and insert in
-- some blocks without vacuuming again: those blocks lose their
-- all-visible bit (and hold dead and new tuple versions), the others keep
-- it.  One scan mixes all-visible direct blocks and direct blocks whose
-- tuples are judged one by one (with direct reads off: buffered blocks).
--
CREATE TABLE d_partvis (id int, grp int, val text) WITH (autovacuum_enabled = off);
INSERT INTO d_partvis SELECT g, g % 10, 'pv ' || g FROM generate_series(1, 40000) g;
VACUUM ANALYZE d_partvis;
\set ECHO none
SELECT * FROM revacuum('d_partvis') \gexec
\set ECHO all
UPDATE d_partvis SET val = val || ' updated' WHERE id % 4000 = 0;
DELETE FROM d_partvis WHERE id BETWEEN 20000 AND 20300;
DELETE FROM d_partvis WHERE id % 5000 = 1;
INSERT INTO d_partvis SELECT g, -1, 'new ' || g FROM generate_series(40001, 40100) g;
SELECT * FROM paths_used('SELECT * FROM d_partvis');
SELECT v.label, c.* FROM (VALUES
    ('all',       'SELECT * FROM d_partvis'),
    ('ctid',      'SELECT ctid, xmin, xmax, * FROM d_partvis'),
    ('count',     'SELECT grp, count(*), sum(id) FROM d_partvis GROUP BY grp'),
    ('updated',   'SELECT * FROM d_partvis WHERE val LIKE ''%updated'''),
    ('deleted',   'SELECT count(*) FROM d_partvis WHERE id BETWEEN 19990 AND 20310'),
    ('new',       'SELECT * FROM d_partvis WHERE grp = -1'),
    ('limit',     'SELECT ctid, * FROM d_partvis LIMIT 5000')
) v(label, q), LATERAL check_same(v.q) c;
SELECT s.*, c.*
FROM (VALUES (1, 1, true), (2, 7, true), (128, 64, true), (16, 16, false))
       AS s(io_depth, io_combine_limit, direct_reads),
     LATERAL check_same_with('SELECT ctid, * FROM d_partvis', s.io_depth,
                             s.io_combine_limit, s.direct_reads) c;

--
-- Changes of the scanning transaction itself: its own uncommitted
-- inserts, updates and deletes are visible to it (buffered path), and an
-- INSERT ... SELECT from the table it inserts into does not see its own new
-- rows.
--
BEGIN;
UPDATE d_many SET val = 'changed' WHERE id % 500 = 0;
DELETE FROM d_many WHERE grp = 77;
INSERT INTO d_many VALUES (100001, 1, 1, true, 'inserted');
SELECT v.label, c.* FROM (VALUES
    ('all',      'SELECT ctid, xmin, * FROM d_many'),
    ('changed',  'SELECT * FROM d_many WHERE val = ''changed'''),
    ('deleted',  'SELECT count(*) FROM d_many WHERE grp = 77'),
    ('inserted', 'SELECT * FROM d_many WHERE id > 60000')
) v(label, q), LATERAL check_same(v.q) c;
ROLLBACK;
SELECT count(*) FROM d_many WHERE val = 'changed' OR grp = 77 OR id > 60000;

BEGIN;
EXPLAIN (COSTS OFF) INSERT INTO d_one SELECT id + 1000, val FROM d_one;
INSERT INTO d_one SELECT id + 1000, val FROM d_one;
INSERT INTO d_one SELECT id + 2000, val FROM d_one;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM d_one;
ROLLBACK;
SET pg_asyncscan.enabled = off;
BEGIN;
INSERT INTO d_one SELECT id + 1000, val FROM d_one;
INSERT INTO d_one SELECT id + 2000, val FROM d_one;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM d_one;
ROLLBACK;
RESET pg_asyncscan.enabled;

--
-- Shape: unlogged table
--
CREATE UNLOGGED TABLE d_unlogged (id int, val text) WITH (autovacuum_enabled = off);
INSERT INTO d_unlogged SELECT g, 'u' || g FROM generate_series(1, 30000) g;
VACUUM ANALYZE d_unlogged;
\set ECHO none
SELECT * FROM revacuum('d_unlogged') \gexec
\set ECHO all
SELECT * FROM paths_used('SELECT * FROM d_unlogged');
SELECT v.label, c.* FROM (VALUES
    ('all',    'SELECT ctid, * FROM d_unlogged'),
    ('count',  'SELECT count(*), sum(id) FROM d_unlogged'),
    ('join',   'SELECT u.id FROM d_unlogged u JOIN d_many m ON m.id = u.id WHERE m.grp = 5')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Shape: partitioned table -- range partitions, one of them empty, one
-- vacuumed and one not, and a default partition
--
CREATE TABLE d_part (id int, grp int, val text) PARTITION BY RANGE (id);
CREATE TABLE d_part_1 PARTITION OF d_part FOR VALUES FROM (1) TO (10001)
  WITH (autovacuum_enabled = off);
CREATE TABLE d_part_2 PARTITION OF d_part FOR VALUES FROM (10001) TO (20001)
  WITH (autovacuum_enabled = off);
CREATE TABLE d_part_3 PARTITION OF d_part FOR VALUES FROM (20001) TO (30001)
  WITH (autovacuum_enabled = off);
CREATE TABLE d_part_def PARTITION OF d_part DEFAULT
  WITH (autovacuum_enabled = off);
INSERT INTO d_part SELECT g, g % 13, 'p' || g FROM generate_series(1, 20000) g;
INSERT INTO d_part SELECT g, g % 13, 'd' || g FROM generate_series(40001, 45000) g;
VACUUM ANALYZE d_part_1, d_part_def;
\set ECHO none
SELECT * FROM revacuum('d_part_1', 'd_part_def') \gexec
\set ECHO all
ANALYZE d_part;
-- (the empty partition, analyzed, has no pages to read: AsyncSeqScan is
-- not cheaper there, and the planner keeps the Seq Scan)
EXPLAIN (COSTS OFF) SELECT * FROM d_part;
SELECT * FROM paths_used('SELECT * FROM d_part');
SELECT v.label, c.* FROM (VALUES
    ('all',       'SELECT tableoid::regclass, ctid, * FROM d_part'),
    ('count',     'SELECT tableoid::regclass, count(*), sum(id) FROM d_part GROUP BY 1'),
    ('pruned',    'SELECT * FROM d_part WHERE id > 15000'),
    ('default',   'SELECT * FROM d_part WHERE id > 30000'),
    ('two parts', 'SELECT * FROM d_part WHERE id BETWEEN 19990 AND 30000'),
    ('filter',    'SELECT id FROM d_part WHERE grp = 4'),
    ('join',      'SELECT p.id, m.val FROM d_part p JOIN d_many m ON m.id = p.id WHERE p.grp = 1'),
    ('limit',     'SELECT count(*) FROM (SELECT * FROM d_part LIMIT 15000) s')
) v(label, q), LATERAL check_same(v.q) c;

--
-- Query shape: aggregates.  An Agg that reads an AsyncSeqScan directly
-- gets the relation's whole rows (as it does from a Seq Scan) and finds
-- its arguments and grouping columns in them by position; a Sort or Hash
-- in between gets the narrow rows it asks for.  Every aggregate strategy
-- and grouping shape: plain, hashed, sorted, grouping sets, HAVING, FILTER,
-- DISTINCT and ordered aggregates, grouping by an expression, a whole-row
-- reference, a table with dropped columns, partitions, and partial
-- aggregation in parallel workers.
--
SET enable_hashagg = off;
SELECT v.label, c.* FROM (VALUES
    ('sorted group', 'SELECT grp, count(*), sum(num), max(val) FROM d_many GROUP BY grp')
) v(label, q), LATERAL check_same(v.q) c;
RESET enable_hashagg;
SET enable_sort = off;
SELECT v.label, c.* FROM (VALUES
    ('hashed group', 'SELECT grp, flag, count(*), sum(num), min(val) FROM d_many GROUP BY flag, grp')
) v(label, q), LATERAL check_same(v.q) c;
RESET enable_sort;
SELECT v.label, c.* FROM (VALUES
    ('plain',        'SELECT count(*), sum(num), avg(id), max(val), bool_and(flag) FROM d_many'),
    ('count star',   'SELECT count(*) FROM d_many'),
    ('last column',  'SELECT string_agg(val, '','' ORDER BY val) FROM d_many WHERE id % 97 = 0'),
    ('having',       'SELECT grp, sum(num) FROM d_many GROUP BY grp HAVING sum(num) > 44000 AND grp % 2 = 0'),
    ('filter',       'SELECT grp, count(*) FILTER (WHERE flag), count(DISTINCT id % 7) FROM d_many GROUP BY grp'),
    ('expression',   'SELECT id % 11 AS k, count(*), sum(num) FROM d_many GROUP BY id % 11'),
    ('group label',  'SELECT val LIKE ''value 1%'', flag, count(*) FROM d_many GROUP BY 1, 2'),
    ('sets',         'SELECT grp, flag, count(*) FROM d_many GROUP BY GROUPING SETS ((grp), (flag), ())'),
    ('rollup',       'SELECT grp % 5, flag, sum(id) FROM d_many GROUP BY ROLLUP (grp % 5, flag)'),
    ('ordered set',  'SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id), mode() WITHIN GROUP (ORDER BY grp) FROM d_many'),
    ('whole row',    'SELECT count(DISTINCT t) FROM d_many t WHERE grp < 3'),
    ('ctid',         'SELECT count(DISTINCT ctid), max(xmin::text) FROM d_many'),
    ('dropped cols', 'SELECT f, count(*), count(d), max(e) FROM d_alter GROUP BY f'),
    ('partitions',   'SELECT grp, count(*), max(val) FROM d_part GROUP BY grp'),
    ('join',         'SELECT m.grp, count(*) FROM d_many m JOIN d_partvis p ON p.id = m.id GROUP BY m.grp'),
    ('subquery',     'SELECT count(*), sum(s.n) FROM (SELECT grp, sum(num) AS n FROM d_many GROUP BY grp) s')
) v(label, q), LATERAL check_same(v.q) c;
-- partial aggregation in parallel workers, Finalize above the Gather
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT v.label, c.* FROM (VALUES
    ('partial plain', 'SELECT count(*), sum(num), max(val) FROM d_many'),
    ('partial group', 'SELECT grp, count(*), sum(id) FROM d_many GROUP BY grp')
) v(label, q), LATERAL check_same(v.q) c;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

--
-- JIT-compiled quals, projections and tuple deforming (forced for every
-- query here; where the server has no JIT provider this simply runs
-- interpreted).  On PostgreSQL 15 the node replaces its scan slot by a
-- heap-tuple slot after the executor built a virtual one, and compiles
-- quals and projection again for it: JIT deforming must match.
--
SET jit = on;
SET jit_above_cost = 0;
SET jit_inline_above_cost = 0;
SET jit_optimize_above_cost = 0;
SELECT v.label, c.* FROM (VALUES
    ('many',    'SELECT id * 2, upper(val), num + 1 FROM d_many WHERE grp = 42 OR num < 100'),
    ('nulls',   'SELECT * FROM d_nulls WHERE coalesce(a, h, 0) % 7 = 1'),
    ('alter',   'SELECT id, c, d, e, f FROM d_alter WHERE f = 42 AND (d IS NULL OR d > 10)'),
    ('partvis', 'SELECT ctid, grp, count(*) OVER (PARTITION BY grp) FROM d_partvis WHERE id % 3 = 0'),
    ('toast',   'SELECT id, length(compressible), md5(ext) FROM d_toast WHERE small LIKE ''%5''')
) v(label, q), LATERAL check_same(v.q) c;
RESET jit;
RESET jit_above_cost;
RESET jit_inline_above_cost;
RESET jit_optimize_above_cost;

--
-- O_DIRECT and the io_uring method.  Where the file system refuses
-- O_DIRECT, direct_io falls back to ordinary reads (the rows are the same
-- either way).  check_same_uring() runs check_same() with io_uring, which
-- this suite requires (an ERROR where the build or the kernel does not
-- offer it; refusals themselves are tested by test/t), and then runs the
-- query once more under EXPLAIN ANALYZE, its tables evicted again: the
-- AsyncSeqScan nodes read with io_uring (io_method), and had reads in
-- flight when they submitted (Max In-Flight >= 1) for pages they read
-- directly (reads_in_flight).  With
-- direct_io on, what the OS page cache holds is copied from there and
-- never submitted: the evicted files, just written through the page
-- cache, are all there, so those runs show no read in flight (their rows
-- are compared all the same; test/t/010_io_uring.pl reads cold files
-- with O_DIRECT).
--
-- The rolled-back changes of the scanning transaction above cleared the
-- all-visible bits of every block of d_many: it is vacuumed again, so
-- that these runs read it directly.
VACUUM d_many;
\set ECHO none
SELECT * FROM revacuum('d_many') \gexec
\set ECHO all
SELECT * FROM paths_used('SELECT * FROM d_many');
CREATE FUNCTION check_same_uring(query text,
                                 OUT io_method text, OUT reads_in_flight boolean,
                                 OUT rows_on bigint, OUT rows_off bigint,
                                 OUT missing bigint, OUT extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    rel regclass;
BEGIN
    PERFORM set_config('pg_asyncscan.io_method', 'io_uring', true);
    SELECT c.rows_on, c.rows_off, c.missing, c.extra
      INTO rows_on, rows_off, missing, extra
      FROM check_same(query) c;
    FOR rel IN SELECT * FROM async_scanned(query) LOOP
        CALL evict(rel);
    END LOOP;
    EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query
        INTO plan;
    SELECT string_agg(DISTINCT n->>'IO Method', ','),
           max((n->>'Max In-Flight')::int) >= 1 AND sum((n->>'Pages Direct')::bigint) > 0
      INTO io_method, reads_in_flight
      FROM jsonb_path_query(plan,
          'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")') AS n;
    PERFORM set_config('pg_asyncscan.io_method', 'sync', true);
END;
$$;
SET pg_asyncscan.direct_io = on;
SELECT v.label, c.* FROM (VALUES
    ('many',      'SELECT ctid, * FROM d_many'),
    ('partvis',   'SELECT ctid, xmin, * FROM d_partvis'),
    ('toast',     'SELECT id, md5(compressible), md5(incompressible), md5(ext) FROM d_toast')
) v(label, q), LATERAL check_same(v.q) c;
RESET pg_asyncscan.direct_io;
SELECT v.label, c.* FROM (VALUES
    ('many',      'SELECT ctid, * FROM d_many'),
    ('self join', 'SELECT a.id, b.val FROM d_many a JOIN d_many b ON a.id = b.id WHERE a.grp < 3'),
    ('partvis',   'SELECT ctid, xmin, * FROM d_partvis'),
    ('hot',       'SELECT ctid, * FROM d_hot'),
    ('toast',     'SELECT id, md5(compressible), md5(incompressible), md5(ext) FROM d_toast'),
    ('part',      'SELECT tableoid::regclass, ctid, * FROM d_part'),
    ('limit',     'SELECT ctid, * FROM d_partvis LIMIT 3000')
) v(label, q), LATERAL check_same_uring(v.q) c;
SET pg_asyncscan.io_depth = 1;
SET pg_asyncscan.io_combine_limit = 1;
SELECT * FROM check_same_uring('SELECT ctid, xmin, * FROM d_partvis');
SET pg_asyncscan.io_depth = 128;
SET pg_asyncscan.io_combine_limit = 64;
SELECT * FROM check_same_uring('SELECT ctid, xmin, * FROM d_partvis');
SET pg_asyncscan.direct_io = on;
SELECT * FROM check_same_uring('SELECT ctid, xmin, * FROM d_partvis');
RESET pg_asyncscan.direct_io;
RESET pg_asyncscan.io_depth;
RESET pg_asyncscan.io_combine_limit;

DROP FUNCTION check_same_uring(text);
DROP FUNCTION check_same_with(text, int, int, boolean);
DROP FUNCTION check_same_ordered(text);
DROP FUNCTION check_same(text, boolean);
DROP FUNCTION paths_used(text);
DROP FUNCTION async_scanned(text);
DROP TABLE d_empty, d_one, d_many, d_toast, d_nulls, d_alter, d_hot,
  d_hot_before, d_partvis, d_unlogged, d_part;
\i sql/include/helpers_drop.sql
