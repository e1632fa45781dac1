--
-- helpers.sql: what several regression tests need, defined once (included
-- with \i by cursor_rescan, differential, errors, explain, methods, paths
-- and segment; helpers_drop.sql removes it again).
--
-- evict(rel): moving a table to another tablespace and back copies its
-- files (visibility map included) without going through shared buffers,
-- so afterwards none of its blocks is in shared buffers and AsyncSeqScan
-- reads its all-visible blocks directly.  The tablespace is an in-place
-- one (allow_in_place_tablespaces, superuser only) inside the data
-- directory.
SET client_min_messages = warning;
DROP TABLESPACE IF EXISTS regress_asyncscan_evict;
RESET client_min_messages;
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE regress_asyncscan_evict LOCATION '';
RESET allow_in_place_tablespaces;
CREATE PROCEDURE evict(rel regclass)
LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT reltablespace FROM pg_class WHERE oid = rel) = 0 THEN
        EXECUTE format('ALTER TABLE %s SET TABLESPACE regress_asyncscan_evict', rel);
    ELSE
        EXECUTE format('ALTER TABLE %s SET TABLESPACE pg_default', rel);
    END IF;
END;
$$;

-- revacuum(rels): VACUUM sets a block all-visible only if no snapshot
-- anywhere in the database might still need an older state of it, so a
-- concurrent snapshot (autovacuum analyzing a catalog, say) can keep it
-- from setting some bits.  After a VACUUM, "SELECT * FROM revacuum(...)
-- \gexec" pauses and vacuums again every table that still has pages that
-- are not all-visible (with ECHO off, so that the output is the same
-- whether it had to or not).
CREATE FUNCTION revacuum(VARIADIC rels regclass[])
RETURNS TABLE (pause text, vacuum text)
LANGUAGE sql AS $$
    SELECT 'DO $p$BEGIN PERFORM pg_sleep(0.2); END$p$', format('VACUUM %s', c.oid::regclass)
    FROM pg_class c
    WHERE c.oid = ANY (rels) AND c.relallvisible < c.relpages
$$;

-- scan_counters(query [, relation]): the counters of the first
-- AsyncSeqScan node of query (on relation, if given), after running it
-- under EXPLAIN ANALYZE; an error if the plan has no such node.
CREATE FUNCTION scan_counters(query text, rel text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    node jsonb;
BEGIN
    EXECUTE 'EXPLAIN (' || io_analyze() || ', COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query
        INTO plan;
    node := jsonb_path_query_first(plan,
        'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan" && (@."Relation Name" == $rel || $rel == null))',
        jsonb_build_object('rel', rel));
    IF node IS NULL THEN
        RAISE EXCEPTION 'no AsyncSeqScan in the plan of: %', query;
    END IF;
    RETURN node;
END;
$$;
