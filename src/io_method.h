/*-------------------------------------------------------------------------
 *
 * io_method.h
 *	  The registry of IO methods and the pg_asyncscan.io_method GUC
 *	  (io_method.c): which method a scan uses, and its ops table.
 *
 * Callers above the IO layer (the executor node, the read stream, the
 * storage hooks' staging, statistics, EXPLAIN) reach the methods only
 * through this header; the methods themselves know nothing of it.
 *
 * IDENTIFICATION
 *	  src/io_method.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_IO_METHOD_H
#define ASYNCSCAN_IO_METHOD_H

#include "io.h"

/*
 * The methods this build has, indexed as in the registry and in the shared
 * statistics (whose rows follow this order).  As in PostgreSQL 18's
 * IoMethod, a method the build lacks (io_uring without liburing) has no
 * number at all, so the registry has no empty slot.
 */
typedef enum AsyncScanIoMethod
{
	ASYNCSCAN_IO_SYNC = 0,
#ifdef ASYNCSCAN_HAVE_LIBURING
	ASYNCSCAN_IO_URING,
#endif
	ASYNCSCAN_IO_WORKER,
	ASYNCSCAN_NUM_IO_METHODS	/* number of methods, not a method */
} AsyncScanIoMethod;

/* _PG_init: define pg_asyncscan.io_method and pg_asyncscan.io_combine_limit */
extern void asyncscan_io_method_init(void);

/* the settings, as a scan or the staging starting now sees them */
extern int	asyncscan_io_method_setting(void);
extern int	asyncscan_io_combine_limit(void);

extern int	asyncscan_resolve_io_method(int requested,
										const char **fallback_reason);
extern const IoMethodOps *asyncscan_io_method_ops(int method);

#endif							/* ASYNCSCAN_IO_METHOD_H */
