--
-- security: row level security policies, security_barrier views and
-- privileges hold under AsyncSeqScan exactly as under a Seq Scan -- and a
-- leaky function in the query never sees a row the user may not see.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET pg_asyncscan.min_relation_size = 0;

CREATE ROLE regress_asyncscan_alice;
CREATE ROLE regress_asyncscan_bob;

CREATE TABLE secret (id int, owner name, note text) WITH (autovacuum_enabled = off);
INSERT INTO secret
SELECT g, CASE WHEN g % 3 = 0 THEN 'regress_asyncscan_alice' ELSE 'regress_asyncscan_bob' END,
       'note ' || g
FROM generate_series(1, 3000) g;
VACUUM secret;
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON secret USING (owner = current_user);
GRANT SELECT ON secret TO regress_asyncscan_alice;

-- A function that leaks every row it is called on, cheaper than the
-- policy's qual, so the planner would like to run it first -- which a
-- security barrier must prevent.
CREATE FUNCTION leak(int, text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    IF $1 % 500 = 0 OR $1 < 4 THEN
        RAISE NOTICE 'leak saw id % (%)', $1, $2;
    END IF;
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION leak(int, text) TO PUBLIC;

SET ROLE regress_asyncscan_alice;
-- the plan: an AsyncSeqScan whose quals keep the policy first
EXPLAIN (COSTS OFF) SELECT count(*) FROM secret WHERE leak(id, note);
-- only alice's rows (ids divisible by 3) reach the leaky function
SELECT count(*), sum(id) FROM secret WHERE leak(id, note);
SET pg_asyncscan.enabled = off;
SELECT count(*), sum(id) FROM secret WHERE leak(id, note);
RESET pg_asyncscan.enabled;
RESET ROLE;

-- A security_barrier view: the same, for a view's qual.
CREATE VIEW small_ids WITH (security_barrier) AS
    SELECT id, note FROM secret WHERE id <= 1500;
ALTER TABLE secret DISABLE ROW LEVEL SECURITY;
GRANT SELECT ON small_ids TO regress_asyncscan_bob;
SET ROLE regress_asyncscan_bob;
EXPLAIN (COSTS OFF) SELECT count(*) FROM small_ids WHERE leak(id, note);
SELECT count(*), max(id) FROM small_ids WHERE leak(id, note);
SET pg_asyncscan.enabled = off;
SELECT count(*), max(id) FROM small_ids WHERE leak(id, note);
RESET pg_asyncscan.enabled;

-- No privilege on the table: nothing the extension adds gets around it.
SELECT count(*) FROM secret;
RESET ROLE;

DROP VIEW small_ids;
DROP TABLE secret;
DROP FUNCTION leak(int, text);
DROP ROLE regress_asyncscan_alice;
DROP ROLE regress_asyncscan_bob;
