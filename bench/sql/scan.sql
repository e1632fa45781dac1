-- bench/sql/scan.sql -- the measured query: one full scan of pgbench_accounts
-- (run with pgbench -n -f bench/sql/scan.sql; the configuration under test
-- comes from PGOPTIONS, so the script is the same for every configuration)
SELECT sum(abalance) FROM pgbench_accounts;
