-- bench/sql/noqual.sql -- a full scan with no qual: every row of the table
-- reaches the aggregate, so count(*) and sum(aid) prove that every row was
-- read.  A pgbench custom script (see bench/README.md):
--   pgbench -n -f bench/sql/noqual.sql -D tbl=TABLE -D exp_n=N -D exp_s=S
--           -D exp_b=B -D check_b=1 ...
-- The configuration under test comes from PGOPTIONS, so the script is the
-- same for every configuration.  The expected values are the Seq Scan's
-- result on the same table (bench/matrix.py computes them once per cluster
-- and database); a different result aborts the client with an error that
-- says "wrong result", and the harness records the run as failed.
-- check_b = 0 skips sum(abalance) (the mixed workload updates it while the
-- scan runs; count(*) and sum(aid) stay fixed).
SELECT count(*) AS n, sum(aid) AS s, sum(abalance) AS b FROM :tbl \gset
\if :n != :exp_n or :s != :exp_s or (:check_b != 0 and :b != :exp_b)
SELECT ('wrong result: count ' || :n || ', sum(aid) ' || :s || ', sum(abalance) ' || :b || '; expected ' || :exp_n || ', ' || :exp_s || ', ' || :exp_b)::int AS result_check;
\endif
