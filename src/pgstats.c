/*-------------------------------------------------------------------------
 *
 * pgstats.c
 *	  What PostgreSQL's own statistics learn of the direct path.
 *
 * Pages read through shared buffers are counted by ReadBuffer itself.
 * Pages read directly into the scan's memory never pass through it, so the
 * read stream reports them here, and they appear where a DBA looks for the
 * IO of a Seq Scan:
 *
 *	- a page handed out from a private copy is a block of the relation read
 *	  from storage: pg_statio_*_tables.heap_blks_read (and through it
 *	  pg_stat_database.blks_read), and pgBufferUsage.shared_blks_read
 *	  (EXPLAIN BUFFERS "shared read", pg_stat_statements, auto_explain),
 *	  the number a Seq Scan reports for the same page.  So a scan counts
 *	  each page it hands out once, as a hit or a read, on either path; a
 *	  copy that is dropped and read again through shared buffers is
 *	  counted by that read instead;
 *	- each direct read whose result the scan uses is a read of
 *	  IOOBJECT_RELATION in pg_stat_io (PostgreSQL 16 on), in the bulk-read
 *	  context when the scan uses the bulk-read ring, in the units of each
 *	  major (compat.h).  It counts when the scan reaches its first page, so
 *	  a read left unused by a LIMIT, which the sync method never even
 *	  performs, does not count; one whose pages were dropped and read
 *	  again through shared buffers does, for it was performed;
 *	- with track_io_timing, the time the scan spends starting its reads and
 *	  waiting for them is read time: pg_stat_io, pg_stat_database and
 *	  pgBufferUsage (EXPLAIN's "I/O Timings").
 *
 * Everything here is a few additions to backend-local counters: once per
 * page, once per read, once per wait; nothing per tuple.  Parallel
 * workers count in their own process; PostgreSQL adds their pgBufferUsage
 * to the leader's and flushes their per-table and IO counters itself.
 *
 * IDENTIFICATION
 *	  src/pgstats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/instrument.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "compat.h"
#include "pgstats.h"

/*
 * A page of rel handed out from a direct read: what ReadBufferExtended and
 * ReadBuffer_common count for a block they read from storage.
 */
void
asyncscan_pgstat_direct_page(Relation rel)
{
	pgstat_count_buffer_read(rel);
	pgBufferUsage.shared_blks_read++;
}

/*
 * The page handed out last was a private copy the consumer could not use;
 * it is being read again through shared buffers, which count it (as a hit
 * or a read).  Take back what asyncscan_pgstat_direct_page() counted, so
 * that the page counts once.  The read it came from stays in pg_stat_io:
 * that IO did happen.
 */
void
asyncscan_pgstat_direct_page_reread(Relation rel)
{
	asyncscan_pgstat_uncount_buffer_read(rel);
	Assert(pgBufferUsage.shared_blks_read > 0);
	pgBufferUsage.shared_blks_read--;
}

/* The scan uses a direct read of nblocks blocks: pg_stat_io. */
void
asyncscan_pgstat_direct_read(bool bulkread, int nblocks)
{
	asyncscan_pgstat_count_io_read(bulkread, nblocks);
}

/*
 * The start of something the scan does for its reads, when track_io_timing
 * asks for read time; zero (nothing to time) otherwise.
 */
instr_time
asyncscan_pgstat_io_start(void)
{
	instr_time	start;

	if (track_io_timing)
		INSTR_TIME_SET_CURRENT(start);
	else
		INSTR_TIME_SET_ZERO(start);
	return start;
}

/*
 * Add the time since start (asyncscan_pgstat_io_start(), or a time the
 * caller took anyway) to the read time of PostgreSQL's statistics, if
 * track_io_timing is on.
 */
void
asyncscan_pgstat_io_end(bool bulkread, instr_time start)
{
	if (!track_io_timing || INSTR_TIME_IS_ZERO(start))
		return;
	asyncscan_pgstat_count_io_read_time(bulkread, start);
}
