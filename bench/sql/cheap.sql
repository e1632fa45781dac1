-- bench/sql/cheap.sql -- a full scan with a cheap, selective qual (2% of the
-- rows pass).  aid % 50 = 7 matches one row in every 50 consecutive aids,
-- and a heap page of pgbench_accounts and of its copies holds 61 rows of
-- consecutive aids, so every page contributes at least one row (except a
-- few of the pages that the updated rows of the partly all-visible table
-- moved to): the result shows that every page was read (a scan that skipped
-- a page returns a different count and sum).  Run like bench/sql/noqual.sql
-- (same variables, same check).
SELECT count(*) AS n, sum(aid) AS s, sum(abalance) AS b FROM :tbl WHERE aid % 50 = 7 \gset
\if :n != :exp_n or :s != :exp_s or (:check_b != 0 and :b != :exp_b)
SELECT ('wrong result: count ' || :n || ', sum(aid) ' || :s || ', sum(abalance) ' || :b || '; expected ' || :exp_n || ', ' || :exp_s || ', ' || :exp_b)::int AS result_check;
\endif
