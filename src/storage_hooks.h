/*-------------------------------------------------------------------------
 *
 * storage_hooks.h
 *	  What pg_asyncscan does with the storage manager hooks of a patched
 *	  server (patches/15): staged asynchronous reads behind PrefetchBuffer,
 *	  and write generations that tell a direct read whether its block was
 *	  written while it was in flight.
 *
 * On a server without the patch, or when the library is not in
 * shared_preload_libraries, nothing here is active and every function
 * below is a cheap no-op (asyncscan_storage_hooks_in_use() is false).
 *
 * IDENTIFICATION
 *	  src/storage_hooks.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_STORAGE_HOOKS_H
#define ASYNCSCAN_STORAGE_HOOKS_H

#include "storage/block.h"
#include "utils/relcache.h"

#include "stats.h"

/* A block's write generations, as recorded before a read of it: see .c */
typedef struct AsyncScanGeneration
{
	uint64		relation;
	uint64		block;
} AsyncScanGeneration;

/* _PG_init: GUC, detection, registration of the storage manager wrapper */
extern void asyncscan_storage_hooks_init(void);

/* shared memory of the write generations (shmem.c) */
extern Size asyncscan_storage_hooks_shmem_size(void);
extern void asyncscan_storage_hooks_shmem_startup(void);

/* The hooks are installed and pg_asyncscan.storage_hooks is on. */
extern bool asyncscan_storage_hooks_in_use(void);

/* write generations, for the direct path */
extern void asyncscan_generations_record(Relation rel, BlockNumber first,
										 int nblocks,
										 AsyncScanGeneration *generations);
extern bool asyncscan_generation_unchanged(Relation rel, BlockNumber blkno,
										   const AsyncScanGeneration *before);

/* staged reads, for the buffered path */
extern void asyncscan_staging_prefetch(Relation rel, BlockNumber first,
									   int nblocks, BlockNumber passed,
									   AsyncScanStats *stats);
extern void asyncscan_staging_release(Relation rel);
extern uint64 asyncscan_staging_used(void);

/* EXPLAIN (ExplainState's header differs between majors: see compat.h) */
struct ExplainState;
extern void asyncscan_storage_hooks_explain_plain(struct ExplainState *es);
extern void asyncscan_storage_hooks_explain_counters(const AsyncScanStats *stats,
													 struct ExplainState *es);

#endif							/* ASYNCSCAN_STORAGE_HOOKS_H */
