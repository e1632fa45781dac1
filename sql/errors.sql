--
-- errors: an AsyncSeqScan ended by an ERROR, a cancel, a timeout or an
-- early stop (LIMIT) cleans up after itself -- its reads, its private
-- memory, its buffer pins and its file descriptors -- and the session goes
-- on giving correct results.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

-- evict(), revacuum() and scan_counters(): see sql/include/helpers.sql
\i sql/include/helpers.sql

-- 20000 rows over about 110 blocks, all-visible
CREATE TABLE er (id int, grp int, val text) WITH (autovacuum_enabled = off);
INSERT INTO er SELECT g, g % 10, 'val ' || g FROM generate_series(1, 20000) g;
VACUUM ANALYZE er;
\set ECHO none
SELECT * FROM revacuum('er') \gexec
\set ECHO all
SELECT pg_relation_size('er') / 8192 AS er_blocks \gset

-- the reference answer, from a plain Seq Scan
SET pg_asyncscan.enabled = off;
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;
RESET pg_asyncscan.enabled;
EXPLAIN (COSTS OFF) SELECT count(*) FROM er WHERE 1 / (id - 5000) > 0;

--
-- An ERROR raised by a qual in the middle of the scan (row 5000, block
-- 27 or so, with reads ahead of it in flight)
--
CALL evict('er');
SELECT count(*) FROM er WHERE 1 / (id - 5000) > 0;
-- the session is fine, and so are the next scans
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;
SELECT count(*) FROM er WHERE 1 / (id - 20001) < 0;
-- an error in the projection rather than the qual
CALL evict('er');
SELECT id, 10 / (20000 - id) FROM er WHERE grp = 0;
SELECT count(*), sum(id) FROM er;

-- the same inside a transaction, undone with a savepoint
BEGIN;
SELECT count(*) FROM er WHERE grp = 3;
SAVEPOINT s1;
SELECT count(*) FROM er WHERE 1 / (id - 5000) > 0;
ROLLBACK TO SAVEPOINT s1;
SELECT count(*), sum(id) FROM er;
-- and again after an update in the transaction
UPDATE er SET val = 'in transaction' WHERE id % 1000 = 0;
SAVEPOINT s2;
SELECT count(*) FROM er WHERE 1 / (id - 15000) > 0;
ROLLBACK TO SAVEPOINT s2;
SELECT count(*), sum(id), count(*) FILTER (WHERE val = 'in transaction') FROM er;
ROLLBACK;
SELECT count(*) FILTER (WHERE val = 'in transaction') FROM er;
-- the UPDATE cleared the all-visible bits of the blocks it touched, and
-- its rollback does not set them again: VACUUM does
VACUUM er;
\set ECHO none
SELECT * FROM revacuum('er') \gexec
\set ECHO all

-- an error while two scans of the same table are running (self join)
CALL evict('er');
SELECT count(*) FROM er a JOIN er b ON a.id = b.id WHERE 1 / (a.id - b.id + (a.id = 12345)::int - 1) > 0;
SELECT count(*) FROM er a JOIN er b ON a.id = b.id;
-- an error in the inner side of a nested loop, during a rescan
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
-- (row 9993 is in group 3, so the join filter divides by zero in the
-- third loop)
EXPLAIN (COSTS OFF)
SELECT count(*) FROM (VALUES (1), (2), (3)) v(x) JOIN er ON er.grp = v.x
WHERE 1 / (er.id <> 9993 OR v.x <> 3)::int > 0;
SELECT count(*) FROM (VALUES (1), (2), (3)) v(x) JOIN er ON er.grp = v.x
WHERE 1 / (er.id <> 9993 OR v.x <> 3)::int > 0;
SELECT count(*) FROM (VALUES (1), (2), (3)) v(x) JOIN er ON er.grp = v.x;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

--
-- Cursors: an error while fetching in a subtransaction fails the cursor
-- (its scan is abandoned mid-way, its resources released by the
-- subtransaction); closing it afterwards is fine
--
CALL evict('er');
BEGIN;
DECLARE c1 NO SCROLL CURSOR FOR SELECT 1 / (id - 5000) FROM er;
FETCH 3 FROM c1;
SAVEPOINT s3;
FETCH ALL FROM c1;
ROLLBACK TO SAVEPOINT s3;
FETCH 1 FROM c1;
ROLLBACK TO SAVEPOINT s3;
CLOSE c1;
SELECT count(*), sum(id) FROM er;
COMMIT;
-- a WITH HOLD cursor whose materialization at COMMIT fails: the COMMIT
-- reports the error and the transaction is rolled back
BEGIN;
DECLARE c2 CURSOR WITH HOLD FOR SELECT 1 / (id - 5000) FROM er;
FETCH 2 FROM c2;
COMMIT;
FETCH 1 FROM c2;
SELECT count(*), sum(id) FROM er;

--
-- Cancel: a query canceling itself in mid-scan
--
CALL evict('er');
SELECT count(*) FROM er
WHERE CASE WHEN id = 7000 THEN pg_cancel_backend(pg_backend_pid()) ELSE true END;
SELECT count(*), sum(id) FROM er;

--
-- statement_timeout expiring in mid-scan: the qual sleeps 10ms on every
-- 1000th row, 200ms in all
--
CALL evict('er');
SET statement_timeout = '50ms';
SELECT count(*) FROM er
WHERE CASE WHEN id % 1000 = 0 THEN pg_sleep(0.01) IS NOT NULL ELSE true END;
RESET statement_timeout;
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;

--
-- Scans stopped early or by errors, many times in one transaction.  Each
-- stream opens the table's segment file with a descriptor of its own,
-- counted against PostgreSQL's budget of external descriptors (a third of
-- max_files_per_process).  Had any of these 500 scans kept its descriptor,
-- the budget would be used up at the end, and the last scan -- of the
-- evicted, all-visible table -- would fall back to the buffered path.  It
-- reads every block directly.
--
CREATE FUNCTION last_scan_all_direct() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    c jsonb;
BEGIN
    c := scan_counters('SELECT count(*) FROM er');
    RETURN (c->>'Pages Direct')::bigint = pg_relation_size('er') / 8192;
END;
$$;
-- many LIMIT 1 queries, each leaving a stream with reads ahead of the
-- consumer
CREATE FUNCTION many_limit_scans(n int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v int;
    want int;
BEGIN
    FOR i IN 1 .. n LOOP
        SELECT id INTO v FROM er WHERE grp = i % 10 LIMIT 1;
        -- the first row of group g (in block 0) is g, or 10 for group 0
        want := coalesce(nullif(i % 10, 0), 10);
        IF v IS DISTINCT FROM want THEN
            RAISE EXCEPTION 'iteration %: got %, want %', i, v, want;
        END IF;
    END LOOP;
    RETURN last_scan_all_direct();
END;
$$;
-- many scans ended by an error, each caught by an exception block
CREATE FUNCTION many_failed_scans(n int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    caught int := 0;
BEGIN
    FOR i IN 1 .. n LOOP
        BEGIN
            PERFORM count(*) FROM er WHERE 1 / (id - 100 - i * 10) > 0;
        EXCEPTION WHEN division_by_zero THEN
            caught := caught + 1;
        END;
    END LOOP;
    IF caught <> n THEN
        RAISE EXCEPTION 'caught % errors of %', caught, n;
    END IF;
    RETURN last_scan_all_direct();
END;
$$;
CALL evict('er');
SELECT last_scan_all_direct();
SELECT many_limit_scans(500);
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;
SELECT many_failed_scans(500);
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;
-- and once more after those transactions ended
CALL evict('er');
SELECT (c->>'Pages Direct')::int = :er_blocks AS all_direct,
       c->>'Pages Hit' AS hit, c->>'Pages Read' AS read
FROM scan_counters('SELECT count(*) FROM er') AS c;

--
-- The same endings with the io_uring method, whose reads are in flight
-- when the scan ends: they must be drained before the memory they target
-- is freed.  This suite requires io_uring (the SET fails where the build
-- or the kernel does not offer it).  A scan stopped by LIMIT at row 8000
-- (block 49 or so: past the window's first doublings, whose reads end
-- where they end) has issued reads beyond the block it stopped in (read
-- bytes beyond the pages it used), with reads in flight at its
-- submissions (sync would show 0).  (test/t/010_io_uring.pl checks, from
-- the kernel's side, that every read is reaped on every such exit.)
--
SET pg_asyncscan.io_method = io_uring;
CALL evict('er');
SELECT c->>'IO Method' AS io_method,
       (c->>'Read Bytes')::bigint / 8192
         > (c->>'Pages Direct')::bigint + (c->>'Direct Rejected In Buffers')::bigint
           + (c->>'Direct Rejected Not All-Visible')::bigint
           + (c->>'Direct Rejected Bad Page')::bigint AS reads_beyond_stop,
       (c->>'Max In-Flight')::int >= 1 AS reads_in_flight
FROM scan_counters('SELECT id FROM er WHERE id >= 8000 LIMIT 1') AS c;
CALL evict('er');
SELECT count(*) FROM er WHERE 1 / (id - 5000) > 0;
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;
CALL evict('er');
BEGIN;
SAVEPOINT s4;
SELECT count(*) FROM er a JOIN er b ON a.id = b.id WHERE 1 / (a.id - b.id + (a.id = 12345)::int - 1) > 0;
ROLLBACK TO SAVEPOINT s4;
SELECT count(*), sum(id) FROM er;
COMMIT;
CALL evict('er');
SELECT count(*) FROM er
WHERE CASE WHEN id = 7000 THEN pg_cancel_backend(pg_backend_pid()) ELSE true END;
CALL evict('er');
SET statement_timeout = '50ms';
SELECT count(*) FROM er
WHERE CASE WHEN id % 1000 = 0 THEN pg_sleep(0.01) IS NOT NULL ELSE true END;
RESET statement_timeout;
CALL evict('er');
BEGIN;
DECLARE c3 NO SCROLL CURSOR FOR SELECT 1 / (id - 5000) FROM er;
FETCH 3 FROM c3;
SAVEPOINT s5;
FETCH ALL FROM c3;
ROLLBACK TO SAVEPOINT s5;
CLOSE c3;
COMMIT;
CALL evict('er');
SELECT many_limit_scans(500);
SELECT many_failed_scans(500);
SELECT count(*), sum(id), md5(string_agg(val, ',' ORDER BY id)) FROM er;
RESET pg_asyncscan.io_method;

DROP FUNCTION many_failed_scans(int);
DROP FUNCTION many_limit_scans(int);
DROP FUNCTION last_scan_all_direct();
DROP TABLE er;
\i sql/include/helpers_drop.sql
