--
-- checked: pages that are not all-visible, read into the scan's own memory
-- and their tuples judged one by one from their headers, the commit log and
-- the snapshot (never setting a hint bit).  For every state a tuple header
-- can be in, AsyncSeqScan returns exactly the rows a Seq Scan returns (as a
-- multiset, system columns included), and the plan shows that it judged the
-- tuples of private copies ("Pages Direct Tuples Checked") -- or, for the
-- states only a shared buffer can settle (rows of this very transaction, a
-- MultiXact), that it read the page through shared buffers instead
-- ("Direct Rejected Undecided").
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

\i sql/include/helpers.sql

-- ck_same(query): the rows of query with AsyncSeqScan (its tables evicted
-- first, so every block is read directly) and with a Seq Scan, in one
-- snapshot; the counters of the AsyncSeqScan; how many rows differ.
CREATE FUNCTION ck_same(query text,
    OUT rows_on bigint, OUT differ bigint, OUT checked boolean,
    OUT undecided boolean, OUT all_visible boolean)
LANGUAGE plpgsql AS $$
DECLARE
    stmt constant text := format('SELECT array_agg(x::text) FROM (%s) x', query);
    node jsonb;
    on_rows text[];
    off_rows text[];
BEGIN
    PERFORM set_config('pg_asyncscan.enabled', 'on', true);
    node := scan_counters(query);
    EXECUTE stmt INTO on_rows;
    PERFORM set_config('pg_asyncscan.enabled', 'off', true);
    EXECUTE stmt INTO off_rows;
    PERFORM set_config('pg_asyncscan.enabled', 'on', true);
    rows_on := coalesce(cardinality(on_rows), 0);
    SELECT count(*) INTO differ FROM (
        (SELECT unnest(off_rows) EXCEPT ALL SELECT unnest(on_rows))
        UNION ALL
        (SELECT unnest(on_rows) EXCEPT ALL SELECT unnest(off_rows))) d;
    -- pages whose tuples were judged privately, pages that had to go
    -- through shared buffers instead, pages read directly as all-visible
    checked := (node ->> 'Pages Direct Tuples Checked')::bigint > 0;
    undecided := (node ->> 'Direct Rejected Undecided')::bigint > 0;
    all_visible := (node ->> 'Pages Direct')::bigint >
        (node ->> 'Pages Direct Tuples Checked')::bigint;
END $$;

-- the scan_counters() run reads the table first: evict it before each
CREATE PROCEDURE ck_evict(rel regclass) LANGUAGE plpgsql AS $$
BEGIN
    CALL evict(rel);
END $$;

CREATE TABLE ck (id int, val text, pad text) WITH (autovacuum_enabled = off, fillfactor = 50);

-- 1. Freshly inserted and committed: no hint bit set anywhere yet
INSERT INTO ck SELECT g, 'v' || g, repeat('p', 200) FROM generate_series(1, 4000) g;
CALL ck_evict('ck');
SELECT 'fresh, not hinted' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- the Seq Scan above set hint bits in shared buffers: flush them to disk
CHECKPOINT;
CALL ck_evict('ck');
SELECT 'fresh, hinted' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 2. Deleted and updated rows (HOT with fillfactor 50, and non-HOT), by
-- committed transactions; rolled back deletes, updates and inserts
DELETE FROM ck WHERE id % 10 = 1;
UPDATE ck SET val = val || ' hot' WHERE id % 10 = 2;
UPDATE ck SET id = id + 100000 WHERE id % 10 = 3;
BEGIN;
DELETE FROM ck WHERE id % 10 = 4;
UPDATE ck SET val = 'rolled back' WHERE id % 10 = 5;
INSERT INTO ck SELECT g, 'aborted', '' FROM generate_series(1, 300) g;
ROLLBACK;
CALL ck_evict('ck');
SELECT 'deleted, updated, aborted' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 3. Subtransactions: committed and rolled back ones, several levels
BEGIN;
SAVEPOINT a;
INSERT INTO ck SELECT g, 'sub committed', '' FROM generate_series(5001, 5200) g;
SAVEPOINT b;
DELETE FROM ck WHERE id % 10 = 6;
ROLLBACK TO b;
UPDATE ck SET val = 'sub updated' WHERE id % 10 = 7;
SAVEPOINT c;
INSERT INTO ck SELECT g, 'sub aborted', '' FROM generate_series(6001, 6100) g;
ROLLBACK TO c;
RELEASE a;
COMMIT;
CALL ck_evict('ck');
SELECT 'subtransactions' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 4. Rows locked (xmax of a locker only): FOR SHARE, FOR UPDATE, KEY SHARE
BEGIN;
SELECT count(*) FROM (SELECT * FROM ck WHERE id % 10 = 8 FOR SHARE) s;
SELECT count(*) FROM (SELECT * FROM ck WHERE id % 10 = 9 FOR UPDATE) s;
SELECT count(*) FROM (SELECT * FROM ck WHERE id % 10 = 0 FOR KEY SHARE) s;
COMMIT;
CALL ck_evict('ck');
SELECT 'locked' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 5. Frozen rows beside new ones
VACUUM (FREEZE) ck;
UPDATE ck SET val = 'after freeze' WHERE id % 7 = 0;
INSERT INTO ck SELECT g, 'after freeze', '' FROM generate_series(7001, 7300) g;
CALL ck_evict('ck');
SELECT 'frozen and new' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 6. This transaction's own changes: command ids decide, which only the
-- shared buffer path checks.  Two cursors opened before further changes of
-- the same transaction must see the rows as they were when they were
-- opened: one reads with AsyncSeqScan, one with a Seq Scan.
CREATE FUNCTION ck_cursors_differ(a refcursor, b refcursor) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    ra text[] := '{}';
    rb text[] := '{}';
BEGIN
    LOOP
        FETCH a INTO r;
        EXIT WHEN NOT FOUND;
        ra := ra || r::text;
    END LOOP;
    LOOP
        FETCH b INTO r;
        EXIT WHEN NOT FOUND;
        rb := rb || r::text;
    END LOOP;
    RETURN (SELECT count(*) FROM (
        (SELECT unnest(ra) EXCEPT ALL SELECT unnest(rb))
        UNION ALL
        (SELECT unnest(rb) EXCEPT ALL SELECT unnest(ra))) d)
        + abs(cardinality(ra) - cardinality(rb));
END $$;
BEGIN;
DELETE FROM ck WHERE id BETWEEN 100 AND 150;
INSERT INTO ck SELECT g, 'own', '' FROM generate_series(8001, 8050) g;
UPDATE ck SET val = 'own update' WHERE id BETWEEN 200 AND 220;
CALL ck_evict('ck');
SELECT 'own transaction' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');
EXPLAIN (COSTS OFF) SELECT ctid, xmin, xmax, * FROM ck;
DECLARE c_async CURSOR FOR SELECT ctid, xmin, xmax, * FROM ck;
SET LOCAL pg_asyncscan.enabled = off;
DECLARE c_seq CURSOR FOR SELECT ctid, xmin, xmax, * FROM ck;
UPDATE ck SET val = 'after the cursors' WHERE id BETWEEN 1 AND 60;
DELETE FROM ck WHERE id BETWEEN 300 AND 320;
SELECT ck_cursors_differ('c_async', 'c_seq') AS cursor_rows_differ;
COMMIT;
DROP FUNCTION ck_cursors_differ(refcursor, refcursor);

-- 7. A MultiXact xmax that includes an update: a key-share lock, then an
-- update of the same rows in a subtransaction
BEGIN;
SELECT count(*) FROM (SELECT * FROM ck WHERE id % 10 = 2 FOR KEY SHARE) s;
SAVEPOINT s;
UPDATE ck SET val = 'updated under a lock' WHERE id % 10 = 2;
RELEASE s;
COMMIT;
CALL ck_evict('ck');
SELECT 'multixact' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 8. All-visible after VACUUM: no tuple is judged at all
VACUUM ck;
\set ECHO none
SELECT * FROM revacuum('ck') \gexec
\set ECHO all
CALL ck_evict('ck');
SELECT 'vacuumed' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');

-- 9. With direct_reads off, every page goes through shared buffers
SET pg_asyncscan.direct_reads = off;
UPDATE ck SET val = 'direct_reads off' WHERE id % 5 = 0;
CALL ck_evict('ck');
SELECT 'direct_reads off' AS state, * FROM ck_same('SELECT ctid, xmin, xmax, * FROM ck');
RESET pg_asyncscan.direct_reads;

DROP PROCEDURE ck_evict(regclass);
DROP FUNCTION ck_same(text);
DROP TABLE ck;
\i sql/include/helpers_drop.sql
