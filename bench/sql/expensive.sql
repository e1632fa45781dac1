-- bench/sql/expensive.sql -- a full scan with an expensive qual: filler is
-- char(84), blank-padded, and LIKE on a bpchar compares the whole padded
-- string, so the LIKE (which never matches) costs about as much per row as
-- the rest of the scan; the OR arm is bench/sql/cheap.sql's qual, so the
-- result again proves that every page was read.  Run like
-- bench/sql/noqual.sql (same variables, same check).
SELECT count(*) AS n, sum(aid) AS s, sum(abalance) AS b FROM :tbl WHERE filler LIKE '%xyz%' OR aid % 50 = 7 \gset
\if :n != :exp_n or :s != :exp_s or (:check_b != 0 and :b != :exp_b)
SELECT ('wrong result: count ' || :n || ', sum(aid) ' || :s || ', sum(abalance) ' || :b || '; expected ' || :exp_n || ', ' || :exp_s || ', ' || :exp_b)::int AS result_check;
\endif
