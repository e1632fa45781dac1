/*-------------------------------------------------------------------------
 *
 * io.h
 *	  The IO method ops table and the read request it works on.
 *
 * The read stream (stream.c) decides what to read; an IO method decides
 * how.  Every method implements the same small set of callbacks, modelled
 * on PostgreSQL 18's IoMethodOps: stage a read, submit the staged batch,
 * wait for one read, and drain everything an owner still has in flight.
 * Besides the version shims (compat.h) and the page checksum (checksum.h,
 * a leaf), this header is all a method sees of the rest of pg_asyncscan:
 * methods depend on nothing above them, and are chosen through the
 * registry (io_method.c).  Adding a method is one new io_<name>.c file,
 * one line each in the registry's enum (io_method.h), ops table and GUC
 * options (io_method.c, which asserts that the three agree), the
 * declaration of its ops table below, and its object in the Makefile.
 *
 * A read is always one contiguous range of one segment file into one
 * contiguous, scan-private target.  With pg_asyncscan.direct_io the read
 * also has an O_DIRECT descriptor: the method first copies what the page
 * cache already holds (asyncscan_read_from_page_cache),
 * and reads the rest with O_DIRECT, so a warm cache is used but a cold
 * scan neither waits on it nor fills it.  The stream never frees a target while
 * its read may still be written into: it calls drain first, on every path.
 *
 * IDENTIFICATION
 *	  src/io.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_IO_H
#define ASYNCSCAN_IO_H

#include "storage/block.h"

/* pg_asyncscan.io_depth's maximum: reads in flight per stream */
#define ASYNCSCAN_MAX_IO_DEPTH		128

/* Largest single read: pg_asyncscan.io_combine_limit's maximum, 64 blocks */
#define ASYNCSCAN_MAX_COMBINE		64
#define ASYNCSCAN_MAX_READ_BYTES	(ASYNCSCAN_MAX_COMBINE * BLCKSZ)

StaticAssertDecl(ASYNCSCAN_MAX_COMBINE <= 64,
				 "AsyncScanRead.checksums_verified has a bit for every block of a read");

/* Life cycle of one read request. */
typedef enum AsyncScanReadState
{
	ASYNCSCAN_READ_IDLE = 0,	/* slot unused */
	ASYNCSCAN_READ_STAGED,		/* handed to the method, not yet submitted */
	ASYNCSCAN_READ_SUBMITTED,	/* the kernel or a worker may be writing */
	ASYNCSCAN_READ_DONE,		/* all bytes are in the target */
	ASYNCSCAN_READ_FAILED		/* gave up; error holds the errno */
} AsyncScanReadState;

struct AsyncScanIo;

/* One read: a byte range of one segment file into private memory. */
typedef struct AsyncScanRead
{
	int			fd;				/* segment file, through the page cache */
	int			direct_fd;		/* the same opened with O_DIRECT, or -1 */
	char	   *residency;		/* read-only mapping of the segment, to ask
								 * mincore() what the page cache holds; or
								 * NULL */
	off_t		offset;			/* byte offset in that file */
	size_t		length;			/* bytes wanted */
	char	   *target;			/* where they go; owned by the stream */
	size_t		transferred;	/* bytes in place so far */
	size_t		cached;			/* of which copied from the page cache
								 * before an O_DIRECT read */
	int			error;			/* errno when state is FAILED */
	uint64		checksums_verified; /* bit i: the method verified block
									 * first_block + i's checksum already */
	AsyncScanReadState state;
	BlockNumber first_block;	/* for error messages and bookkeeping */
	int			nblocks;		/* length / BLCKSZ */
	struct AsyncScanIo *io;		/* owner; completions are matched by it */
	int			method_slot;	/* the method's own handle of the read */
	struct AsyncScanRead *method_next;	/* the method's own list link */
} AsyncScanRead;

/*
 * Callbacks of one IO method.  All of them run in the owning backend.
 * Only drain is called on error paths; it must not throw.
 */
typedef struct IoMethodOps
{
	/* name as spelled in pg_asyncscan.io_method */
	const char *name;

	/*
	 * Prepare per-owner state.  May ereport(ERROR) when the method is not
	 * available in this backend.
	 */
	void		(*init_owner) (struct AsyncScanIo *io);

	/* Accept a read for the next submission; state becomes STAGED. */
	void		(*start_read) (struct AsyncScanIo *io, AsyncScanRead *read);

	/* Submit every staged read of this owner as one batch. */
	void		(*submit) (struct AsyncScanIo *io);

	/*
	 * Return once read is DONE or FAILED.  Never blocks while reads of the
	 * owner are staged but unsubmitted: it submits them first.
	 */
	void		(*wait_read) (struct AsyncScanIo *io, AsyncScanRead *read);

	/*
	 * Wait for or cancel every read of this owner that may still be written
	 * into, so that its targets may be freed.  Runs on end of scan, rescan
	 * and from the memory context callback on ERROR; must not throw.
	 */
	void		(*drain) (struct AsyncScanIo *io);

	/* Release per-owner state (after drain). */
	void		(*end_owner) (struct AsyncScanIo *io);

	/*
	 * Optional: the stream is done with a DONE read's target.  Methods that
	 * point the target at memory of their own (worker: the shared arena)
	 * take it back here.
	 */
	void		(*release_read) (struct AsyncScanIo *io, AsyncScanRead *read);

	/* Largest read the method takes, in blocks; 0 for no limit of its own */
	int			max_read_blocks;
} IoMethodOps;

/* Per-stream IO state: the owner of a set of reads. */
typedef struct AsyncScanIo
{
	const IoMethodOps *ops;
	int			nstaged;		/* reads STAGED, not yet submitted */
	int			ninflight;		/* reads SUBMITTED, not yet reaped */
	void	   *method_private; /* for the method's own use */

	/* what is read, for methods that open the files themselves (worker) */
	Oid			spc_oid;
	Oid			db_oid;
	Oid			rel_number;
	bool		direct_io;		/* reads not found cached use O_DIRECT */
	bool		complete_at_submit;	/* methods that perform reads in the
									 * backend (sync) do so at submit, not
									 * when waited for: the owner reclaims
									 * only complete reads */

	/* reads the method performed in the backend instead (worker: full) */
	uint64		inline_reads;
} AsyncScanIo;

/* helpers for the methods (io.c) */
extern void asyncscan_read_advise(AsyncScanRead *read);
extern bool asyncscan_read_from_page_cache(AsyncScanRead *read);
extern bool asyncscan_read_is_cached(AsyncScanRead *read);
extern void asyncscan_read_sync(AsyncScanRead *read);
extern int	asyncscan_pread_rest(int fd, char *target, size_t length,
								 off_t offset, size_t *transferred);

/* the ops table of each method, for the registry (io_method.c) */
extern const IoMethodOps asyncscan_io_sync_ops;
extern const IoMethodOps asyncscan_io_worker_ops;
#ifdef ASYNCSCAN_HAVE_LIBURING
extern const IoMethodOps asyncscan_io_uring_ops;
#endif

#endif							/* ASYNCSCAN_IO_H */
