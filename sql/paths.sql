--
-- paths: which blocks AsyncSeqScan reads by the direct path (into private
-- memory, bypassing shared buffers) and which through shared buffers, and
-- that every block is handed out exactly once either way.
--
-- A block is read directly only if it is not in shared buffers, the
-- snapshot is MVCC, the transaction is not SERIALIZABLE and
-- pg_asyncscan.direct_reads is on (README, "Correctness: what the direct
-- path trusts"); if the visibility map says it is all-visible, all its
-- tuples are visible, otherwise each tuple of the private copy is judged
-- ("tuples checked").  The expected split is computed independently of the
-- extension, from pg_visibility (the visibility map) and pg_buffercache
-- (shared buffers) just before each scan, and compared with the node's
-- EXPLAIN (ANALYZE, FORMAT JSON) counters:
--   direct  = blocks not in shared buffers
--     checked = of which not all-visible
--   hit     = blocks in shared buffers
--   read    = blocks neither (read into shared buffers by the scan): those
--             not read directly -- all when direct reads are not allowed,
--             else only a block right after 32 blocks in a row in shared
--             buffers, where the scan has stopped looking ahead and reads
--             block after block through shared buffers until one is not
--             there
-- and always direct + hit + read = the relation's blocks.
--
LOAD 'pg_asyncscan';
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET pg_asyncscan.min_relation_size = 0;
SET pg_asyncscan.io_method = sync;

CREATE EXTENSION pg_buffercache;
CREATE EXTENSION pg_visibility;

-- evict(), revacuum() and scan_counters(): see sql/include/helpers.sql
\i sql/include/helpers.sql

-- The split the rules predict for a scan of rel starting now.
CREATE FUNCTION expected_split(rel regclass, direct_allowed boolean,
                               OUT direct bigint, OUT checked bigint,
                               OUT hit bigint, OUT read bigint)
LANGUAGE sql AS $$
    WITH in_buffers AS (
        SELECT DISTINCT relblocknumber AS blkno
        FROM pg_buffercache
        WHERE relfilenode = pg_relation_filenode(rel)
          AND reldatabase = (SELECT oid FROM pg_database
                             WHERE datname = current_database())
          AND relforknumber = 0
    )
    , blocks AS (
        SELECT v.blkno, v.all_visible, b.blkno IS NOT NULL AS in_buffers,
               -- the 32 blocks before it are all in shared buffers: the
               -- scan has stopped looking ahead ("cached mode") and reads
               -- this one through shared buffers
               count(*) FILTER (WHERE b.blkno IS NOT NULL)
                 OVER (ORDER BY v.blkno ROWS BETWEEN 32 PRECEDING AND 1 PRECEDING) = 32
                 AS after_cached_run
        FROM pg_visibility_map(rel) v LEFT JOIN in_buffers b ON b.blkno = v.blkno
    )
    SELECT count(*) FILTER (WHERE direct_allowed AND NOT in_buffers AND NOT after_cached_run),
           count(*) FILTER (WHERE direct_allowed AND NOT in_buffers AND NOT after_cached_run
                            AND NOT all_visible),
           count(*) FILTER (WHERE in_buffers),
           count(*) FILTER (WHERE NOT in_buffers AND (NOT direct_allowed OR after_cached_run))
    FROM blocks
$$;

-- Scan rel (SELECT count(*)) and compare the counters with the split
-- predicted just before.  Prints the comparisons, not the numbers (except
-- where a number is the point: see the callers).
CREATE FUNCTION check_paths(rel regclass, direct_allowed boolean DEFAULT true,
                            OUT direct_as_predicted boolean,
                            OUT hit_as_predicted boolean,
                            OUT read_as_predicted boolean,
                            OUT every_block_once boolean,
                            OUT direct bigint, OUT checked bigint,
                            OUT hit bigint, OUT read bigint)
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    c jsonb;
BEGIN
    SELECT * INTO e FROM expected_split(rel, direct_allowed);
    c := scan_counters(format('SELECT count(*) FROM %s', rel));
    direct := (c->>'Pages Direct')::bigint;
    checked := (c->>'Pages Direct Tuples Checked')::bigint;
    hit := (c->>'Pages Hit')::bigint;
    read := (c->>'Pages Read')::bigint;
    direct_as_predicted := direct = e.direct AND checked = e.checked;
    hit_as_predicted := hit = e.hit;
    read_as_predicted := read = e.read;
    every_block_once := direct + hit + read = pg_relation_size(rel) / 8192;
    IF (c->>'Direct Rejected In Buffers')::int
       + (c->>'Direct Rejected Not All-Visible')::int
       + (c->>'Direct Rejected Bad Page')::int
       + (c->>'Direct Rejected Undecided')::int <> 0 THEN
        RAISE EXCEPTION 'unexpected rejected direct reads: %', c;
    END IF;
END;
$$;

-- 20000 rows in 690 blocks, with room on every page for HOT updates
CREATE TABLE pt (id int, grp int, pad text)
  WITH (fillfactor = 50, autovacuum_enabled = off);
INSERT INTO pt SELECT g, g % 10, repeat('x', 100) FROM generate_series(1, 20000) g;
SELECT pg_relation_size('pt') / 8192 AS pt_blocks \gset
SELECT :pt_blocks > 600 AS big_enough;

--
-- 1. Freshly loaded, never vacuumed: no block is all-visible, and all are
--    in shared buffers.  Everything is a hit.
--
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct, hit = :pt_blocks AS all_hit, read
FROM check_paths('pt');

--
-- 2. VACUUM FULL + VACUUM.  VACUUM FULL writes a new relfilenode through
--    smgr, never through shared buffers, but leaves an empty visibility
--    map.  VACUUM then reads every block to set its all-visible bit, but
--    through its 256kB ring of buffers (BAS_VACUUM), which it recycles,
--    writing the dirtied pages out: afterwards at most the last 32 blocks
--    are still in shared buffers.  So: all blocks all-visible, nearly all
--    out of shared buffers, the rest hits.  (PostgreSQL 16 made the ring's
--    size a setting, vacuum_buffer_usage_limit, 2MB by default: set to
--    256kB where it exists, the ring is the same on every major.)
--
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 160000 THEN
        SET vacuum_buffer_usage_limit = '256kB';
    END IF;
END
$$;
VACUUM FULL pt;
SELECT count(*) AS in_buffers_after_vacuum_full FROM pg_buffercache
WHERE relfilenode = pg_relation_filenode('pt') AND relforknumber = 0;
VACUUM pt;
\set ECHO none
SELECT * FROM revacuum('pt') \gexec
\set ECHO all
SELECT count(*) FILTER (WHERE all_visible) = :pt_blocks AS all_visible
FROM pg_visibility_map('pt');
SELECT count(*) BETWEEN 1 AND 32 AS some_left_by_vacuum_ring FROM pg_buffercache
WHERE relfilenode = pg_relation_filenode('pt') AND relforknumber = 0;
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct > :pt_blocks - 33 AS mostly_direct, hit > 0 AS some_hits, read
FROM check_paths('pt');
-- a direct read does not put the block into shared buffers: a second scan
-- reads the same blocks directly again
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct > :pt_blocks - 33 AS mostly_direct, read
FROM check_paths('pt');

-- The rest of the test needs exact control over shared buffers: evict()
-- (sql/include/helpers.sql) moves a table to another tablespace, copying
-- its files (visibility map included) without going through shared
-- buffers, so afterwards none of its blocks is in shared buffers and the
-- visibility map is unchanged.

--
-- 3. All-visible and nothing in shared buffers: every block direct.
--
CALL evict('pt');
SELECT count(*) AS in_buffers FROM pg_buffercache
WHERE relfilenode = pg_relation_filenode('pt') AND relforknumber = 0;
SELECT count(*) FILTER (WHERE all_visible) = :pt_blocks AS all_visible
FROM pg_visibility_map('pt');
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct = :pt_blocks AS all_direct, hit, read
FROM check_paths('pt');
-- the reads were combined: with the default io_combine_limit of 32 blocks
-- fewer reads than blocks, each at most 256kB, and the bytes read are
-- exactly the direct blocks; at most io_depth (64) reads in flight
SELECT (c->>'Reads')::int < :pt_blocks AS combined,
       (c->>'Reads')::int >= :pt_blocks / 32 AS at_most_32_blocks_each,
       (c->>'Read Bytes')::bigint = 8192::bigint * :pt_blocks AS bytes_are_blocks,
       (c->>'Average Read Size')::numeric <= 256 AS avg_at_most_256kb,
       (c->>'Max Window')::int BETWEEN 2 AND 64 * 32 AS window_grew_within_limit,
       (c->>'Max In-Flight')::int <= 64 AS in_flight_within_depth,
       (c->>'Actual Rows')::numeric::int AS actual_rows
FROM scan_counters('SELECT * FROM pt') AS c;
-- io_combine_limit = 1: one read per block, each of 8kB; the window is at
-- most io_depth (64) blocks
SET pg_asyncscan.io_combine_limit = 1;
SELECT (c->>'Reads')::int = :pt_blocks AS one_read_per_block,
       c->>'Average Read Size' AS avg_read_kb,
       (c->>'Max Window')::int <= 64 AS window_within_limit
FROM scan_counters('SELECT * FROM pt') AS c;
-- io_depth = 1, io_combine_limit = 64: at most one read in flight, reads
-- of up to 512kB
SET pg_asyncscan.io_depth = 1;
SET pg_asyncscan.io_combine_limit = 64;
SELECT (c->>'Pages Direct')::int = :pt_blocks AS all_direct,
       (c->>'Reads')::int >= :pt_blocks / 64 AS at_most_64_blocks_each,
       (c->>'Max In-Flight')::int <= 1 AS in_flight_within_depth,
       (c->>'Max Window')::int <= 64 AS window_within_limit
FROM scan_counters('SELECT * FROM pt') AS c;
RESET pg_asyncscan.io_depth;
RESET pg_asyncscan.io_combine_limit;
-- LIMIT: the stream stops with the consumer.  The first block alone
-- satisfies LIMIT 1, and the window starts at one block: one block read.
SELECT c->>'Pages Direct' AS direct, c->>'Pages Hit' AS hit,
       c->>'Pages Read' AS read, c->>'Reads' AS reads
FROM scan_counters('SELECT * FROM pt LIMIT 1') AS c;

--
-- 4. Updating rows clears the all-visible bit of their blocks.  Update one
--    row in each of three blocks (HOT, on the same page):
--
CALL evict('pt');
UPDATE pt SET pad = 'updated' WHERE ctid IN ('(3,1)', '(100,2)', '(101,5)');
SELECT count(*) FILTER (WHERE NOT all_visible) AS not_all_visible,
       array_agg(blkno ORDER BY blkno) FILTER (WHERE NOT all_visible) AS blocks
FROM pg_visibility_map('pt');
-- they are in shared buffers now (the UPDATE read them): three hits, the
-- other blocks still direct
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct = :pt_blocks - 3 AS others_direct, checked, hit, read
FROM check_paths('pt');
-- out of shared buffers: every block direct, the three that are not
-- all-visible with their tuples checked one by one
CALL evict('pt');
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct = :pt_blocks AS all_direct, checked, hit, read
FROM check_paths('pt');
-- a direct read leaves nothing in shared buffers: the same again
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct = :pt_blocks AS all_direct, checked, hit, read
FROM check_paths('pt');
-- and the rows are right, updated ones included
SELECT count(*), sum(id), count(*) FILTER (WHERE pad = 'updated') FROM pt;
SET pg_asyncscan.enabled = off;
SELECT count(*), sum(id), count(*) FILTER (WHERE pad = 'updated') FROM pt;
RESET pg_asyncscan.enabled;

--
-- 5. Buffered blocks that are not in shared buffers are prefetched
--    (posix_fadvise) when they enter the look-ahead window, unless they
--    continue the previous run of such blocks: a sequential run is left
--    to the kernel's own readahead, as for a Seq Scan.  With direct reads
--    off, the evicted table is one sequential run: no advice.  With every
--    fourth block in shared buffers (a hit), each run of misses starts
--    after a gap and is advised (a run the window splits in two is
--    advised up to the split).  (On a server with the storage hooks,
--    prefetches are staged reads instead, every one of them:
--    storage_hooks.sql; here the hooks are off.)
--
CALL evict('pt');
SET pg_asyncscan.direct_reads = off;
SET pg_asyncscan.storage_hooks = off;
SELECT (c->>'Pages Read')::int = :pt_blocks AS all_read,
       (c->>'Advised Blocks')::int AS advised
FROM scan_counters('SELECT * FROM pt') AS c;
CALL evict('pt');
DO $$
BEGIN
    FOR b IN 0 .. pg_relation_size('pt') / 8192 - 1 BY 4 LOOP
        EXECUTE format('SELECT count(*) FROM pt WHERE ctid >= ''(%s,0)'' AND ctid < ''(%s,0)''',
                       b, b + 1);
    END LOOP;
END $$;
SELECT (c->>'Pages Hit')::int = (:pt_blocks + 3) / 4 AS every_fourth_hit,
       (c->>'Pages Read')::int = :pt_blocks - (:pt_blocks + 3) / 4 AS others_read,
       -- at least the first block of every run of misses (there is one
       -- after each hit but perhaps the last), at most every miss
       (c->>'Advised Blocks')::int
         BETWEEN (:pt_blocks + 3) / 4 - 1 AND (c->>'Pages Read')::int AS each_run_advised
FROM scan_counters('SELECT * FROM pt') AS c;
RESET pg_asyncscan.direct_reads;
RESET pg_asyncscan.storage_hooks;

--
-- 6. pg_asyncscan.direct_reads = off: every block through shared buffers,
--    read (the first time) or hit.
--
CALL evict('pt');
SET pg_asyncscan.direct_reads = off;
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct, hit, read = :pt_blocks AS all_read
FROM check_paths('pt', direct_allowed => false);
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct, hit = :pt_blocks AS all_hit, read
FROM check_paths('pt', direct_allowed => false);
RESET pg_asyncscan.direct_reads;

--
-- 7. SERIALIZABLE transactions use the buffered path only (they need the
--    per-tuple serializable conflict checks); REPEATABLE READ and READ
--    COMMITTED may read directly.
--
CALL evict('pt');
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct, hit, read = :pt_blocks AS all_read
FROM check_paths('pt', direct_allowed => false);
COMMIT;
CALL evict('pt');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct = :pt_blocks AS all_direct, checked, hit, read
FROM check_paths('pt');
COMMIT;
CALL evict('pt');
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct = :pt_blocks AS all_direct, checked, hit, read
FROM check_paths('pt');
COMMIT;

--
-- 8. Every rule at once: a table in shared buffers in part (a plain scan
--    of its first blocks, by ctid range), all-visible in part (rows of
--    other blocks deleted afterwards): hits, direct all-visible and direct
--    checked blocks; with direct reads off, hits and reads.
--
CALL evict('pt');
SELECT count(*) FROM pt WHERE ctid < '(50,0)';
DELETE FROM pt WHERE ctid >= '(600,0)' AND ctid < '(610,0)';
SELECT count(*) FILTER (WHERE NOT all_visible) AS not_all_visible
FROM pg_visibility_map('pt');
CALL evict('pt');
SELECT count(*) FROM pt WHERE ctid < '(50,0)';
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct > 0 AS some_direct, checked > 0 AS some_checked, hit > 0 AS some_hit,
       read AS read_after_cached_run
FROM check_paths('pt');
-- with direct reads off, the blocks not in shared buffers are read into them
SET pg_asyncscan.direct_reads = off;
CALL evict('pt');
SELECT count(*) FROM pt WHERE ctid < '(50,0)';
SELECT direct_as_predicted, hit_as_predicted, read_as_predicted, every_block_once,
       direct, hit > 0 AS some_hit, read > 0 AS some_read
FROM check_paths('pt', direct_allowed => false);
RESET pg_asyncscan.direct_reads;

--
-- 9. Temporary tables are never scanned by AsyncSeqScan (local buffers)
--    -- see planner.sql -- and an empty table hands out nothing.
--
CREATE TABLE pt_empty (id int) WITH (autovacuum_enabled = off);
SELECT c->>'Pages Direct' AS direct, c->>'Pages Hit' AS hit,
       c->>'Pages Read' AS read, c->>'Reads' AS reads
FROM scan_counters('SELECT * FROM pt_empty') AS c;

DROP TABLE pt, pt_empty;
DROP FUNCTION check_paths(regclass, boolean);
DROP FUNCTION expected_split(regclass, boolean);
DROP EXTENSION pg_visibility;
DROP EXTENSION pg_buffercache;
\i sql/include/helpers_drop.sql
