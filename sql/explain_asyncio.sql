--
-- explain_asyncio: where AsyncSeqScan's IO counters show in EXPLAIN.
--
-- PostgreSQL 18 lets an extension register EXPLAIN options; there the
-- counters show under EXPLAIN (ANALYZE, ASYNCIO), and name the server's own
-- io_method, which reads what AsyncSeqScan takes through shared buffers
-- ("Buffered IO Method").  Plain EXPLAIN ANALYZE shows only the IO method,
-- ASYNCIO without ANALYZE is an error (as TIMING without ANALYZE), and
-- ASYNCIO takes a boolean.  Before 18 there is no ASYNCIO option (EXPLAIN
-- rejects it) and the counters show under ANALYZE alone:
-- explain_asyncio_1.out.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

CREATE TABLE ea_t (id int, pad text) WITH (autovacuum_enabled = off);
INSERT INTO ea_t SELECT g, repeat('a', 100) FROM generate_series(1, 5000) g;
VACUUM ANALYZE ea_t;

-- What one EXPLAIN shows of AsyncSeqScan, from its JSON form
CREATE FUNCTION ea_shows(options text, OUT async_node boolean,
                         OUT io_method text, OUT counters boolean,
                         OUT summary boolean, OUT buffered_by_server boolean)
LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
    node jsonb;
BEGIN
    EXECUTE format('EXPLAIN (%s, COSTS OFF, BUFFERS OFF, FORMAT JSON) SELECT count(*) FROM ea_t',
                   options) INTO plan;
    node := jsonb_path_query_first(plan,
        'strict $.**? (@."Custom Plan Provider" == "AsyncSeqScan")');
    async_node := node IS NOT NULL;
    io_method := node ->> 'IO Method';
    counters := node ? 'Pages Direct';
    summary := plan -> 0 ? 'AsyncSeqScan IO';
    buffered_by_server := (node ->> 'Buffered IO Method') =
        current_setting('io_method', true);
END;
$$;

-- EXPLAIN: the method only
SELECT * FROM ea_shows('ANALYZE false');
-- EXPLAIN ANALYZE: counters before 18, the method only on 18
SELECT * FROM ea_shows('ANALYZE');
-- EXPLAIN (ANALYZE, ASYNCIO): counters and statement summary (18 only)
SELECT * FROM ea_shows('ANALYZE, ASYNCIO');
SELECT * FROM ea_shows('ANALYZE, ASYNCIO true');
SELECT * FROM ea_shows('ANALYZE, ASYNCIO off');
SELECT * FROM ea_shows('ANALYZE, VERBOSE, ASYNCIO 1');

-- bad uses
EXPLAIN (ASYNCIO) SELECT count(*) FROM ea_t;
EXPLAIN (ANALYZE, ASYNCIO maybe) SELECT count(*) FROM ea_t;
EXPLAIN (ANALYZE, ASYNCIO 2) SELECT count(*) FROM ea_t;
EXPLAIN (ANALYZE, ASYNCIOX) SELECT count(*) FROM ea_t;

-- the text form: our two lines per node and the statement summary, with
-- the numbers (which vary) replaced by N
CREATE FUNCTION ea_text(options text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    ln text;
BEGIN
    FOR ln IN EXECUTE format('EXPLAIN (%s, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT count(*) FROM ea_t',
                             options)
    LOOP
        IF ln ~ '(IO|Reads|IO Method):' THEN
            RETURN NEXT regexp_replace(
                regexp_replace(ln, 'server io_method=\w+', 'server io_method=X'),
                '[0-9]+(\.[0-9]+)?', 'N', 'g');
        END IF;
    END LOOP;
END;
$$;
SELECT ea_text('ANALYZE, ASYNCIO');
SELECT ea_text('ANALYZE');

DROP FUNCTION ea_shows(text);
DROP FUNCTION ea_text(text);
DROP TABLE ea_t;
