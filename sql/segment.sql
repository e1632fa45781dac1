--
-- segment: a table larger than one 1GB segment file.
--
-- PostgreSQL stores a relation in segment files of RELSEG_SIZE blocks
-- (131072 blocks = 1GB with 8kB blocks): block 131071 is the last block of
-- the first file, block 131072 the first of the second file ("<relfilenode>.1").
-- The direct path opens the segment files itself and must never let a
-- combined read cross from one into the next.  Run by make
-- installcheck-large (it writes about 1.1GB), in a database of its own,
-- so it installs the extensions it needs itself.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_asyncscan;
CREATE EXTENSION IF NOT EXISTS pg_buffercache;
CREATE EXTENSION IF NOT EXISTS pg_visibility;
RESET client_min_messages;
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;
-- a Seq Scan of a table this large may start in the middle (synchronized
-- scans); the comparisons below do not depend on row order, but turn it
-- off anyway so both scans go from block 0 to the end
SET synchronize_seqscans = off;

-- evict(), revacuum() and scan_counters(): see sql/include/helpers.sql
\i sql/include/helpers.sql

SELECT current_setting('block_size')::int AS block_size,
       current_setting('segment_size') AS segment_size;

-- Exactly one row per block, with id = its block number: with fillfactor
-- 10 a page takes new rows only while it stays 90% free, and a 500-byte
-- row leaves room for no second one.  140000 blocks = about 1.07GB, so
-- the second segment holds blocks 131072 .. 139999.
--
-- CREATE TABLE AS writes through a 16MB ring of buffers, so afterwards
-- only the last 2048 or so blocks are in shared buffers; VACUUM (256kB
-- ring) makes every block all-visible without bringing more in.  Most
-- blocks of both segments, those around the boundary included, are then
-- read by the direct path.
CHECKPOINT;
CREATE TABLE seg WITH (fillfactor = 10, autovacuum_enabled = off) AS
  SELECT g AS id, repeat('x', 500) AS pad FROM generate_series(0, 139999) g;
VACUUM seg;
\set ECHO none
SELECT * FROM revacuum('seg') \gexec
\set ECHO all

SELECT pg_relation_size('seg') / 8192 AS blocks,
       pg_relation_size('seg') > 1024 * 1024 * 1024 AS larger_than_1gb;
-- one row per block, id = block number
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced
FROM seg;

SELECT count(*) FILTER (WHERE all_visible) = 140000 AS all_visible
FROM pg_visibility_map('seg');
-- blocks of both segments, and around the boundary, are not in shared
-- buffers (shared_buffers holds 16384 blocks: fewer than 1% of the first
-- segment's 131072, fewer than half of the second's 8928), so the scans
-- below read them directly
SELECT count(*) FILTER (WHERE relblocknumber < 131072) < 131072 / 100 AS first_segment_mostly_out,
       count(*) FILTER (WHERE relblocknumber >= 131072) < 8928 / 2 AS second_segment_mostly_out,
       count(*) FILTER (WHERE relblocknumber BETWEEN 131000 AND 131200) AS boundary_blocks_in_buffers
FROM pg_buffercache
WHERE relfilenode = pg_relation_filenode('seg') AND relforknumber = 0;


-- The reference, from a plain Seq Scan: count, sum, lowest and highest
-- block, rows not in the block their id says, and the rows around the
-- boundary
SET pg_asyncscan.enabled = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM seg;
SELECT count(*), sum(id),
       min((ctid::text::point)[0]) AS min_block, max((ctid::text::point)[0]) AS max_block,
       count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced,
       md5(string_agg(md5(pad), '' ORDER BY id)) AS pad_md5
FROM seg;
SELECT ctid, id, length(pad) FROM seg WHERE id BETWEEN 131069 AND 131074 ORDER BY id;
RESET pg_asyncscan.enabled;

-- AsyncSeqScan, default settings: the same answers
EXPLAIN (COSTS OFF) SELECT count(*) FROM seg;
SELECT count(*), sum(id),
       min((ctid::text::point)[0]) AS min_block, max((ctid::text::point)[0]) AS max_block,
       count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced,
       md5(string_agg(md5(pad), '' ORDER BY id)) AS pad_md5
FROM seg;
SELECT ctid, id, length(pad) FROM seg WHERE id BETWEEN 131069 AND 131074 ORDER BY id;

-- every block handed out once, most of them read directly
SELECT (c->>'Pages Direct')::bigint + (c->>'Pages Hit')::bigint + (c->>'Pages Read')::bigint
         = pg_relation_size('seg') / 8192 AS every_block_once,
       (c->>'Pages Direct')::bigint > 131072 AS mostly_direct,
       (c->>'Read Bytes')::bigint = 8192 * (c->>'Pages Direct')::bigint AS bytes_are_blocks,
       (c->>'Actual Rows')::numeric::bigint AS actual_rows
FROM scan_counters('SELECT id FROM seg') AS c;

-- Read sizes that do not divide the segment size, the largest reads and
-- window, and one-block reads: a combined read ends at the boundary and the
-- next one starts in the second file.  (Row 131071 is the last of the
-- first file, 131072 the first of the second.)
SET pg_asyncscan.io_depth = 3;
SET pg_asyncscan.io_combine_limit = 7;
SELECT count(*), sum(id), count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced,
       string_agg(id::text, ',' ORDER BY id) FILTER (WHERE id BETWEEN 131070 AND 131073) AS boundary
FROM seg;
SET pg_asyncscan.io_depth = 128;
SET pg_asyncscan.io_combine_limit = 64;
SELECT count(*), sum(id), count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced,
       string_agg(id::text, ',' ORDER BY id) FILTER (WHERE id BETWEEN 131070 AND 131073) AS boundary
FROM seg;
SET pg_asyncscan.io_depth = 1;
SET pg_asyncscan.io_combine_limit = 1;
SELECT count(*), sum(id), count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced,
       string_agg(id::text, ',' ORDER BY id) FILTER (WHERE id BETWEEN 131070 AND 131073) AS boundary
FROM seg;
-- with O_DIRECT reads (where the file system allows them; the rows are
-- the same either way)
RESET pg_asyncscan.io_depth;
RESET pg_asyncscan.io_combine_limit;
SET pg_asyncscan.direct_io = on;
SELECT count(*), sum(id), count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced,
       string_agg(id::text, ',' ORDER BY id) FILTER (WHERE id BETWEEN 131070 AND 131073) AS boundary
FROM seg;
RESET pg_asyncscan.direct_io;

-- Every IO method crosses the boundary on the direct path: sync reads
-- with preadv() on the stream's descriptors of each segment file,
-- io_uring submits reads on them, and the worker method's IO workers open
-- the segment files themselves.  For each, with the default reads and with
-- 7-block reads in a 3-read window (a read ends at the boundary): the
-- scan used that method, handed out every block once, read more blocks
-- directly than the first segment has (so blocks of the second segment
-- too), and returned every row in its block, the rows around the boundary
-- among them.
CREATE FUNCTION segment_scan(method text, depth int, combine int,
                             OUT io_method text, OUT every_block_once boolean,
                             OUT direct_past_boundary boolean,
                             OUT rows bigint, OUT sum numeric, OUT misplaced bigint,
                             OUT boundary text)
LANGUAGE plpgsql AS $$
DECLARE
    c jsonb;
BEGIN
    PERFORM set_config('pg_asyncscan.io_method', method, true);
    PERFORM set_config('pg_asyncscan.io_depth', depth::text, true);
    PERFORM set_config('pg_asyncscan.io_combine_limit', combine::text, true);
    c := scan_counters('SELECT id FROM seg');
    io_method := c->>'IO Method';
    every_block_once := (c->>'Pages Direct')::bigint + (c->>'Pages Hit')::bigint
                        + (c->>'Pages Read')::bigint = pg_relation_size('seg') / 8192;
    direct_past_boundary := (c->>'Pages Direct')::bigint > 131072;
    SELECT count(*), sum(id), count(*) FILTER (WHERE (ctid::text::point)[0] <> id),
           string_agg(id::text, ',' ORDER BY id) FILTER (WHERE id BETWEEN 131070 AND 131073)
      INTO rows, sum, misplaced, boundary
      FROM seg;
    PERFORM set_config('pg_asyncscan.io_method', 'sync', true);
    PERFORM set_config('pg_asyncscan.io_depth', '16', true);
    PERFORM set_config('pg_asyncscan.io_combine_limit', '16', true);
END;
$$;
SELECT m.method, m.depth, m.combine, s.*
FROM (VALUES ('sync', 16, 16), ('sync', 3, 7),
             ('io_uring', 16, 16), ('io_uring', 3, 7),
             ('worker', 16, 16), ('worker', 3, 7)) AS m(method, depth, combine),
     LATERAL segment_scan(m.method, m.depth, m.combine) AS s;
DROP FUNCTION segment_scan(text, int, int);

-- the buffered path over both segments (through a 256kB ring: the table is
-- larger than a quarter of shared_buffers)
SET pg_asyncscan.direct_reads = off;
SELECT (c->>'Pages Direct')::bigint AS direct,
       (c->>'Pages Hit')::bigint + (c->>'Pages Read')::bigint
         = pg_relation_size('seg') / 8192 AS all_buffered
FROM scan_counters('SELECT id FROM seg') AS c;
SELECT count(*), sum(id), count(*) FILTER (WHERE (ctid::text::point)[0] <> id) AS misplaced
FROM seg;
RESET pg_asyncscan.direct_reads;

-- scans stopped by a LIMIT in the second segment
SELECT id FROM seg WHERE id >= 131070 LIMIT 4;
SELECT count(*) FROM (SELECT id FROM seg WHERE id % 1000 = 0 LIMIT 135) s;

DROP TABLE seg;
\i sql/include/helpers_drop.sql
