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

/* _PG_init: install the shared memory hooks, when preloading */
extern void asyncscan_shmem_init(void);

#endif							/* ASYNCSCAN_SHMEM_H */
