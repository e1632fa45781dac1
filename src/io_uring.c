/*-------------------------------------------------------------------------
 *
 * io_uring.c
 *	  The "io_uring" IO method: reads submitted in batches to one io_uring
 *	  per backend (liburing), completed while the executor works.
 *
 * One ring serves every AsyncSeqScan of the backend: it is created on first
 * use, sized for the largest io_depth, and torn down at backend exit.  Each
 * submission carries a pointer to its AsyncScanRead, so whichever scan
 * reaps a completion finishes the right request: two scans in one query (a
 * join, a partitioned table) share the ring without stealing each other's
 * completions, and a scan waiting for its own read may complete another's
 * on the way.
 *
 * A read is prepared into the submission queue when the stream stages it
 * and submitted with the rest of its batch: one io_uring_submit() per
 * batch.  From the moment it is prepared it counts as in flight for its
 * owner, because any io_uring_submit() of the backend, from any scan, may
 * pass it to the kernel.  The rest of a short read is not queued while
 * completions are processed (the queue may be full, and making room may
 * fail): the read waits on a list until the next wait or submission
 * queues it.  drain therefore drops the owner's reads on that list,
 * submits, then reaps until the owner has nothing in flight; only then may
 * the stream free its targets.
 *
 * Nothing here is thrown while a completion is half processed, so an
 * interrupt (query cancel, statement_timeout) taken while waiting leaves
 * every request consistent for the drain that the ERROR triggers.
 *
 * This is the only file that includes liburing.
 *
 * IDENTIFICATION
 *	  src/io_uring.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <liburing.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/wait_event.h"

#include "io_uring.h"

/* Submission queue entries; io_depth's maximum, so one scan's batch fits */
#define URING_ENTRIES	128

StaticAssertDecl(URING_ENTRIES >= ASYNCSCAN_MAX_IO_DEPTH,
				 "one scan's batch of reads fits in the submission queue");

typedef enum RingState
{
	RING_UNTRIED = 0,
	RING_READY,
	RING_FAILED
} RingState;

static struct io_uring ring;
static RingState ring_state = RING_UNTRIED;

static int	ring_errno = 0;		/* why creating the ring failed */

/* short reads whose rest waits for a submission queue entry */
static AsyncScanRead *rests_head = NULL;

static void uring_shutdown(int code, Datum arg);
static struct io_uring_sqe *uring_get_sqe(bool in_drain);
static void uring_prep(struct io_uring_sqe *sqe, AsyncScanRead *read);
static void uring_resubmit_rests(void);
static void uring_drop_rests(AsyncScanIo *io);
static void uring_submit_all(bool in_drain);
static void uring_reap(bool wait, bool in_drain);
static void uring_complete(AsyncScanRead *read, int res);

/*
 * Create the backend's ring if not done yet.  Returns true when the ring
 * is usable; otherwise *err holds the errno of the failure (sticky: a
 * refused ring is not retried in this backend).
 */
bool
asyncscan_uring_available(int *err)
{
	if (ring_state == RING_UNTRIED)
	{
		int			rc;

		/* never in the postmaster: children would share the ring */
		Assert(IsUnderPostmaster || !IsPostmasterEnvironment);

		if (!AcquireExternalFD())
		{
			ring_state = RING_FAILED;
			ring_errno = EMFILE;
		}
		else
		{
			rc = io_uring_queue_init(URING_ENTRIES, &ring, 0);
			if (rc < 0)
			{
				ReleaseExternalFD();
				ring_state = RING_FAILED;
				ring_errno = -rc;
			}
			else
			{
				ring_state = RING_READY;
				on_shmem_exit(uring_shutdown, (Datum) 0);
			}
		}
	}
	if (err != NULL)
		*err = ring_errno;
	return ring_state == RING_READY;
}

/*
 * Could this backend create its ring?  Creates a ring of the size it would
 * use and closes it again at once, so that checking a setting never leaves
 * a ring behind (the ring of a backend is created by its first scan).
 */
bool
asyncscan_uring_probe(int *err)
{
	struct io_uring probe;
	int			rc;

	*err = 0;
	if (ring_state == RING_READY)
		return true;
	if (!AcquireExternalFD())
	{
		*err = EMFILE;
		return false;
	}
	rc = io_uring_queue_init(URING_ENTRIES, &probe, 0);
	if (rc == 0)
		io_uring_queue_exit(&probe);
	ReleaseExternalFD();
	if (rc < 0)
		*err = -rc;
	return rc == 0;
}

/* A hint naming the likely cause of a refused ring. */
const char *
asyncscan_uring_refusal_hint(int err)
{
	switch (err)
	{
		case ENOSYS:
			return "The kernel does not support io_uring.";
		case EPERM:
			return "io_uring is refused by kernel.io_uring_disabled or a seccomp filter.";
		case ENOMEM:
			return "The ring could not be allocated; check RLIMIT_MEMLOCK (ulimit -l).";
		case EMFILE:
		case ENFILE:
			return "No file descriptor is left for the ring.";
		default:
			return "Use pg_asyncscan.io_method = 'sync' instead.";
	}
}

static void
uring_shutdown(int code, Datum arg)
{
	/*
	 * Every scan drained before its memory went away; closing the ring also
	 * makes the kernel cancel anything left, and process memory outlives
	 * that.
	 */
	if (ring_state == RING_READY)
	{
		io_uring_queue_exit(&ring);
		ReleaseExternalFD();
		ring_state = RING_FAILED;
		ring_errno = ESHUTDOWN;
	}
}

static void
uring_init_owner(AsyncScanIo *io)
{
	int			err;

	if (!asyncscan_uring_available(&err))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("io_uring is not available in this backend: %s",
						strerror(err)),
				 errhint("%s", asyncscan_uring_refusal_hint(err))));
	io->method_private = NULL;
}

static void
uring_start_read(AsyncScanIo *io, AsyncScanRead *read)
{
	struct io_uring_sqe *sqe;

	Assert(ring_state == RING_READY);
	Assert(read->io == io);

	/* with direct_io, what the page cache holds needs no submission */
	if (asyncscan_read_from_page_cache(read))
		return;

	/* may throw (a full queue is submitted first): nothing counted yet */
	sqe = uring_get_sqe(false);
	read->state = ASYNCSCAN_READ_SUBMITTED;
	io->ninflight++;
	uring_prep(sqe, read);
	io->nstaged++;

	/*
	 * No IOSQE_ASYNC: a read the OS page cache can serve is copied when it
	 * is submitted, and only one that must wait for the disk goes to one of
	 * io_uring's worker threads.  Forcing every read to a worker thread
	 * (measured: bench/, OS-warm and cold) cost a third more CPU and no
	 * time on 2 CPUs; O_DIRECT reads are asynchronous in the block layer
	 * anyway.
	 */
}

static void
uring_submit(AsyncScanIo *io)
{
	uring_submit_all(false);
	io->nstaged = 0;
}

static void
uring_wait_read(AsyncScanIo *io, AsyncScanRead *read)
{
	if (io->nstaged > 0)
		uring_submit(io);

	if (read->state == ASYNCSCAN_READ_SUBMITTED)
	{
		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_READ);
		while (read->state == ASYNCSCAN_READ_SUBMITTED)
		{
			/* the rest of a short read may be waiting for a queue entry */
			uring_resubmit_rests();
			uring_reap(true, false);
		}
		pgstat_report_wait_end();
	}
	Assert(read->state == ASYNCSCAN_READ_DONE ||
		   read->state == ASYNCSCAN_READ_FAILED);
}

/*
 * Wait until nothing of this owner can still be written into.  Reads on
 * regular files cannot be cancelled once the kernel has them, so waiting
 * is the only safe choice; they are disk reads and finish soon.
 *
 * Every read the owner counts in flight is in one of three places: in the
 * submission queue, in the kernel, or on the list of short reads whose
 * rest was not resubmitted yet.  Those on the list are in nobody's hands
 * and are simply dropped; the queue is submitted; completions are reaped
 * until the owner has nothing left.  So this ends in every state, and it
 * never serves interrupts (it runs with them held, on error paths).
 */
static void
uring_drain(AsyncScanIo *io)
{
	if (ring_state != RING_READY)
	{
		/* the ring was closed at exit: the kernel dropped every request */
		io->nstaged = 0;
		io->ninflight = 0;
		return;
	}

	io->nstaged = 0;
	for (;;)
	{
		uring_drop_rests(io);
		if (io->ninflight == 0)
			break;
		uring_submit_all(true);
		uring_reap(true, true);
	}
}

static void
uring_end_owner(AsyncScanIo *io)
{
	Assert(io->ninflight == 0 && io->nstaged == 0);
	io->method_private = NULL;
}

/*
 * A free submission queue entry, submitting what is queued if the queue is
 * full.
 */
static struct io_uring_sqe *
uring_get_sqe(bool in_drain)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&ring)) == NULL)
		uring_submit_all(in_drain);
	return sqe;
}

/* Fill a queue entry for (the rest of) the read.  Never throws. */
static void
uring_prep(struct io_uring_sqe *sqe, AsyncScanRead *read)
{
	Assert(read->state == ASYNCSCAN_READ_SUBMITTED);
	io_uring_prep_read(sqe, read->direct_fd >= 0 ? read->direct_fd : read->fd,
					   read->target + read->transferred,
					   (unsigned) (read->length - read->transferred),
					   (__u64) (read->offset + (off_t) read->transferred));
	io_uring_sqe_set_data(sqe, read);
}

/*
 * Queue the rest of every short read that is waiting for it.  A read
 * leaves the list only once it has its queue entry, so an ERROR while
 * making room (a failed submission) leaves every read where drain finds
 * it.
 */
static void
uring_resubmit_rests(void)
{
	if (rests_head == NULL)
		return;
	while (rests_head != NULL)
	{
		struct io_uring_sqe *sqe = uring_get_sqe(false);
		AsyncScanRead *read = rests_head;

		rests_head = read->method_next;
		read->method_next = NULL;
		uring_prep(sqe, read);
	}
	uring_submit_all(false);
}

/*
 * Drop the owner's short reads whose rest was never queued: nothing
 * writes into them, and a draining owner no longer wants their data.
 */
static void
uring_drop_rests(AsyncScanIo *io)
{
	AsyncScanRead **link = &rests_head;

	while (*link != NULL)
	{
		AsyncScanRead *read = *link;

		if (read->io == io)
		{
			*link = read->method_next;
			read->method_next = NULL;
			read->state = ASYNCSCAN_READ_FAILED;
			Assert(io->ninflight > 0);
			io->ninflight--;
		}
		else
			link = &read->method_next;
	}
}

/*
 * Pass every queued entry to the kernel.  When the kernel is busy
 * (completion queue backlog) reap first and retry.  Any other failure
 * leaves entries queued that point at scan memory: outside drain that is
 * an ERROR (the drain that follows tries again); inside drain, where
 * memory is about to be freed, the backend cannot continue safely.
 */
static void
uring_submit_all(bool in_drain)
{
	while (io_uring_sq_ready(&ring) > 0)
	{
		int			rc = io_uring_submit(&ring);

		if (rc >= 0 || rc == -EINTR)
			continue;
		if (rc == -EAGAIN || rc == -EBUSY)
		{
			uring_reap(true, in_drain);
			continue;
		}
		if (in_drain)
			elog(FATAL, "io_uring_submit failed while draining reads: %s",
				 strerror(-rc));
		errno = -rc;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not submit reads to io_uring: %m")));
	}
}

/*
 * Process completions: at least one if wait, else only those ready.
 * Outside drain, interrupts are served while waiting, never while a
 * completion is half processed.
 */
static void
uring_reap(bool wait, bool in_drain)
{
	struct io_uring_cqe *cqe;
	int			rc;

	if (wait)
	{
		for (;;)
		{
			rc = io_uring_wait_cqe(&ring, &cqe);
			if (rc == 0)
				break;
			if (rc != -EINTR && rc != -EAGAIN)
			{
				if (in_drain)
					elog(FATAL, "io_uring_wait_cqe failed while draining reads: %s",
						 strerror(-rc));
				errno = -rc;
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not wait for io_uring completions: %m")));
			}
			if (!in_drain)
				CHECK_FOR_INTERRUPTS();
		}
	}

	while (io_uring_peek_cqe(&ring, &cqe) == 0)
	{
		AsyncScanRead *read = io_uring_cqe_get_data(cqe);
		int			res = cqe->res;

		io_uring_cqe_seen(&ring, cqe);
		uring_complete(read, res);
	}
}

/*
 * One completion of read.  The rest of a short read goes on the list of
 * rests, to be queued outside completion processing: this never throws
 * and never needs a queue entry.
 */
static void
uring_complete(AsyncScanRead *read, int res)
{
	Assert(read->state == ASYNCSCAN_READ_SUBMITTED);

	if (res > 0)
		read->transferred += res;
	if (res == -EINTR || res == -EAGAIN ||
		(res > 0 && read->transferred < read->length))
	{
		/* interrupted or short: ask for the rest */
		read->method_next = rests_head;
		rests_head = read;
		return;
	}
	if (res < 0)
	{
		read->error = -res;
		read->state = ASYNCSCAN_READ_FAILED;
	}
	else if (res == 0)
	{
		/* end of file before the end of the read */
		read->error = 0;
		read->state = ASYNCSCAN_READ_FAILED;
	}
	else
		read->state = ASYNCSCAN_READ_DONE;
	Assert(read->io->ninflight > 0);
	read->io->ninflight--;
}

const IoMethodOps asyncscan_io_uring_ops = {
	.name = "io_uring",
	.init_owner = uring_init_owner,
	.start_read = uring_start_read,
	.submit = uring_submit,
	.wait_read = uring_wait_read,
	.drain = uring_drain,
	.end_owner = uring_end_owner,
};
