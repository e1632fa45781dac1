/*-------------------------------------------------------------------------
 *
 * io_worker.h
 *	  What the rest of pg_asyncscan calls of the worker IO method
 *	  (io_worker.c) besides its ops table: its GUCs and processes, its
 *	  shared memory, and whether it can be used in this backend.
 *
 * IDENTIFICATION
 *	  src/io_worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_IO_WORKER_H
#define ASYNCSCAN_IO_WORKER_H

#include "io.h"

/* _PG_init: GUCs, and when preloading, the IO worker processes */
extern void asyncscan_worker_init(void);

/* the workers' queue and arena in shared memory (shmem.c) */
extern void asyncscan_worker_shmem_request(void);
extern void asyncscan_worker_shmem_startup(void);

/* the library was preloaded, so the workers and their arena exist */
extern bool asyncscan_worker_available(void);

#endif							/* ASYNCSCAN_IO_WORKER_H */
