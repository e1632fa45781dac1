/*-------------------------------------------------------------------------
 *
 * pgstats.h
 *	  What PostgreSQL's own statistics learn of the direct path: per-table
 *	  and per-statement block counts, pg_stat_io, and read time.
 *
 * IDENTIFICATION
 *	  src/pgstats.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_PGSTATS_H
#define ASYNCSCAN_PGSTATS_H

#include "portability/instr_time.h"
#include "utils/relcache.h"

extern void asyncscan_pgstat_direct_page(Relation rel);
extern void asyncscan_pgstat_direct_page_reread(Relation rel);
extern void asyncscan_pgstat_direct_read(bool bulkread, int nblocks);
extern instr_time asyncscan_pgstat_io_start(void);
extern void asyncscan_pgstat_io_end(bool bulkread, instr_time start);

#endif							/* ASYNCSCAN_PGSTATS_H */
