/*-------------------------------------------------------------------------
 *
 * io_uring.h
 *	  What the registry (io_method.c) asks the io_uring IO method
 *	  (io_uring.c) besides its ops table: whether the kernel gives this
 *	  backend a ring, and why not.
 *
 * IDENTIFICATION
 *	  src/io_uring.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_IO_URING_H
#define ASYNCSCAN_IO_URING_H

#include "io.h"

#ifdef ASYNCSCAN_HAVE_LIBURING
extern bool asyncscan_uring_available(int *err);
extern bool asyncscan_uring_probe(int *err);
extern const char *asyncscan_uring_refusal_hint(int err);
#endif

#endif							/* ASYNCSCAN_IO_URING_H */
