/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  pg_asyncscan's shared memory, present when the library is in
 *	  shared_preload_libraries.
 *
 * IDENTIFICATION
 *	  src/shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_SHMEM_H
#define ASYNCSCAN_SHMEM_H

#include "stats.h"

typedef struct AsyncScanShared
{
	AsyncScanSharedStats stats; /* cumulative counters, see stats.c */
} AsyncScanShared;

/* NULL unless the library was preloaded */
extern AsyncScanShared *asyncscan_shared;

extern void asyncscan_shmem_init(void);

/* the IO workers' area, io_worker.c */
extern void asyncscan_worker_shmem_request(void);
extern void asyncscan_worker_shmem_startup(void);

#endif							/* ASYNCSCAN_SHMEM_H */
