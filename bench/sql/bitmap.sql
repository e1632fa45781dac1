-- bench/sql/bitmap.sql -- an index-driven read of scattered heap pages: a
-- Bitmap Heap Scan through the expression index acc_scatter on
-- (aid % 1000) of pgbench_accounts (bench/matrix.py makes it where this
-- query runs), the plan forced with enable_seqscan, enable_indexscan and
-- enable_indexonlyscan off and checked before measuring.  aid % 1000 = 7
-- matches one row in every 1000 consecutive aids, one row on every 16th or
-- 17th heap page (61 rows per page): about 6% of the pages, 130 kB apart,
-- each one synchronous 8 kB read of PostgreSQL 15 unless
-- effective_io_concurrency prefetches it.  The expected result is the Seq
-- Scan's (bitmap, index and index-only scans off); run like
-- bench/sql/noqual.sql (same variables, same check).
SELECT count(*) AS n, sum(aid) AS s, sum(abalance) AS b FROM :tbl WHERE aid % 1000 = 7 \gset
\if :n != :exp_n or :s != :exp_s or (:check_b != 0 and :b != :exp_b)
SELECT ('wrong result: count ' || :n || ', sum(aid) ' || :s || ', sum(abalance) ' || :b || '; expected ' || :exp_n || ', ' || :exp_s || ', ' || :exp_b)::int AS result_check;
\endif
