/*-------------------------------------------------------------------------
 *
 * io_worker.c
 *	  The "worker" IO method: reads performed by pg_asyncscan.io_workers
 *	  background processes into a shared arena.
 *
 * Where io_uring is refused (container seccomp profiles, managed services)
 * this still gets reads off the backend: a pool of IO workers, started by
 * the postmaster when the library is preloaded, serves a shared queue.
 *
 * Every read request owns one slot of the shared arena (slot size: the
 * largest read, WORKER_SLOT_BLOCKS).  A backend stages a read by taking a
 * free slot, submits its batch by appending the slots to the queue and
 * setting the latches of idle workers, and waits on its own latch only
 * when the page it needs is not ready.  A worker opens the segment file
 * itself (the backend's descriptors are not shared), reads into the slot
 * and sets the owner's latch.  The stream then uses the page in the slot
 * where it lies -- the backend copies nothing -- and gives the slot back
 * when it has consumed the read (release_read).
 *
 * Ownership.  A slot belongs to the backend that took it from the free
 * list until that backend gives it back, and only the owner ever gives it
 * back: release_slot_locked() is the one place a slot returns to the free
 * list, and it refuses (WARNING, nothing changed) a slot this backend does
 * not hold by its own record (my_slots) and by the shared one (owner).  A
 * worker that runs a request never frees it; it marks it done, or, if the
 * worker leaves or fails in the middle, hands it back to the queue.  So an
 * owner that drains (end of scan, rescan, ERROR, and backend exit through
 * the transaction abort or, as a backstop, an on_shmem_exit callback)
 * takes its queued requests out of the queue, waits for the running ones
 * -- they are reads of a local file and end soon -- and then frees them
 * all itself.  Two drains of the same stream, or a drain after the
 * backstop, find nothing left to free.
 *
 * A request still queued after a short wait is taken back and read by its
 * owner, so a backend never waits on a queue that nobody serves (all
 * workers busy, or not running).  A worker that exits while running a
 * request (pg_terminate_backend, server shutdown, FATAL) puts it back in
 * the queue from its exit callback; an ERROR in a worker is caught by its
 * main loop, which does the same and goes on.  A worker killed outright
 * (SIGKILL) takes the server through crash restart, like any process
 * attached to shared memory, and the arena is built anew.
 *
 * Fairness: an owner may hold at most its share of the arena, the slot
 * count divided by the number of backends holding slots.  When it has its
 * share, or the arena is full, the backend reads inline, in its own
 * process, into its private target: never a deadlock, and counted in
 * EXPLAIN as inline reads.
 *
 * All shared state is protected by one LWLock (the queue is searched and
 * the workers' table walked while it is held); the arena itself is written
 * only by whoever runs a request, and read by its owner once it is done.
 *
 * IDENTIFICATION
 *	  src/io_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/twophase.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/bufpage.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "checksum.h"
#include "compat.h"
#include "io_worker.h"

/* Blocks per arena slot, the largest read this method takes */
#define WORKER_SLOT_BLOCKS		16
#define WORKER_SLOT_BYTES		(WORKER_SLOT_BLOCKS * BLCKSZ)
#define WORKER_IO_ALIGN			4096
#define MAX_IO_WORKERS			32

StaticAssertDecl(WORKER_SLOT_BLOCKS <= ASYNCSCAN_MAX_COMBINE,
				 "an arena slot holds at most one read");
StaticAssertDecl(WORKER_SLOT_BYTES % WORKER_IO_ALIGN == 0,
				 "every slot stays aligned for O_DIRECT");

/* queued requests a worker announces to the kernel at a time, at most */
#define WORKER_ADVISE_MAX		64

/* a request still queued after this long is read by its owner */
#define WORKER_TAKE_BACK_MS		100

/* a draining owner looks again at a running request this often */
#define WORKER_DRAIN_POLL_MS	10

#define WORKER_LWLOCK_TRANCHE	"pg_asyncscan io workers"

typedef enum WorkerRequestState
{
	REQ_FREE = 0,				/* on the free list */
	REQ_STAGED,					/* taken by an owner, not yet queued */
	REQ_QUEUED,					/* waiting for a worker */
	REQ_RUNNING,				/* a worker, or the owner, is reading */
	REQ_DONE					/* finished (error holds the outcome) */
} WorkerRequestState;

/* One request, paired with one arena slot of the same index. */
typedef struct WorkerRequest
{
	WorkerRequestState state;
	int			owner;			/* pgprocno of the owner; -1 when free */
	int			next_free;		/* free list link */
	int			runner;			/* worker number running it, or -1 for its
								 * owner */
	/* what to read */
	Oid			spc_oid;
	Oid			db_oid;
	Oid			rel_number;
	int			segno;
	off_t		offset;
	size_t		length;
	bool		direct_io;		/* open with O_DIRECT */
	bool		advised;		/* announced to the kernel, or O_DIRECT */
	/* outcome */
	size_t		transferred;
	int			error;			/* errno, 0 if none */
	uint32		checksums_ok;	/* bit i: block i of the read verified */
} WorkerRequest;

StaticAssertDecl(WORKER_SLOT_BLOCKS <= 32,
				 "checksums_ok has a bit for every block of a slot");

/* The shared part, followed by held[], requests[], queue[] and the arena */
typedef struct WorkerShared
{
	LWLock	   *lock;			/* protects everything but the arena */
	int			nslots;
	int			free_head;		/* first free slot, -1 if none */
	int			nfree;
	int			queue_head;		/* ring of queued slot numbers */
	int			queue_count;
	int			nrunning;		/* requests REQ_RUNNING */
	int			nowners;		/* backends holding at least one slot */
	int			nholders;		/* entries of held[] */
	int			nworkers;		/* workers running */
	int			worker_procno[MAX_IO_WORKERS];	/* -1 when not running */
	bool		worker_idle[MAX_IO_WORKERS];	/* waiting for work, latch
												 * not set yet */
	int		   *held;			/* slots held, per pgprocno */
	WorkerRequest *requests;
	int		   *queue;
	char	   *arena;
} WorkerShared;

/* Per-owner (per-stream) state */
typedef struct WorkerOwner
{
	int			nstaged;		/* staged, not yet queued */
	int			staged[ASYNCSCAN_MAX_IO_DEPTH];
	int			nheld;			/* every slot this stream holds */
	int			held[ASYNCSCAN_MAX_IO_DEPTH];
} WorkerOwner;

/* GUC variables */
static int	asyncscan_io_workers = 3;
static int	asyncscan_worker_arena_size = 16384;	/* kB */

static WorkerShared *worker_shared = NULL;

/*
 * This backend's own record of the slots it holds, indexed by slot: the
 * authority for "mine" when a slot is given back.
 */
static bool *my_slots = NULL;

/* In an IO worker: its number, and the slot it is running or -1 */
static int	my_worker_number = -1;
static int	my_running_slot = -1;

/*
 * In an IO worker: copies of the queued requests it took to announce to the
 * kernel (worker_next_request), announced after the lock is released.
 */
static WorkerRequest my_advice[WORKER_ADVISE_MAX];
static int	my_nadvice = 0;

PGDLLEXPORT void asyncscan_io_worker_main(Datum main_arg);

static void backend_exit_release(int code, Datum arg);
static bool release_slot_locked(int slot);
static void wait_and_release_slot(int slot);
static void requeue_running_locked(int slot);
static void worker_exit(int code, Datum arg);
static void worker_announce(void);
static void worker_recover_from_error(MemoryContext request_cxt);

/*
 * Define the GUCs and, when preloading, register the workers.
 */
void
asyncscan_worker_init(void)
{
	/* server-start settings can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("pg_asyncscan.io_workers",
							"Number of IO worker processes for io_method = worker.",
							"Started by the postmaster when pg_asyncscan is in "
							"shared_preload_libraries.",
							&asyncscan_io_workers,
							3, 1, MAX_IO_WORKERS,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_asyncscan.worker_arena_size",
							"Shared memory the IO workers read into.",
							"Divided into slots of 16 blocks, one per read in "
							"flight; a backend may hold at most its share.",
							&asyncscan_worker_arena_size,
							16384, 1024, 1024 * 1024,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	for (int i = 0; i < asyncscan_io_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		/* a connection to no database puts it in pg_stat_activity */
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
			BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		worker.bgw_restart_time = 1;
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_asyncscan");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "asyncscan_io_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "pg_asyncscan io worker %d", i);
		snprintf(worker.bgw_type, BGW_MAXLEN, "pg_asyncscan io worker");
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}

static int
worker_nslots(void)
{
	return Max(asyncscan_worker_arena_size / (WORKER_SLOT_BYTES / 1024), 2);
}

static int
worker_nholders(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

static Size
worker_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(WorkerShared));

	size = add_size(size, MAXALIGN(mul_size(worker_nholders(), sizeof(int))));
	size = add_size(size, MAXALIGN(mul_size(worker_nslots(), sizeof(WorkerRequest))));
	size = add_size(size, MAXALIGN(mul_size(worker_nslots(), sizeof(int))));
	size = add_size(size, WORKER_IO_ALIGN);
	size = add_size(size, mul_size(worker_nslots(), WORKER_SLOT_BYTES));
	return size;
}

/* From the shmem_request_hook: the area and its lock. */
void
asyncscan_worker_shmem_request(void)
{
	RequestAddinShmemSpace(worker_shmem_size());
	RequestNamedLWLockTranche(WORKER_LWLOCK_TRANCHE, 1);
}

void
asyncscan_worker_shmem_startup(void)
{
	bool		found;
	char	   *p;

	worker_shared = ShmemInitStruct("pg_asyncscan io workers",
									worker_shmem_size(), &found);
	if (found)
		return;

	p = (char *) worker_shared + MAXALIGN(sizeof(WorkerShared));
	worker_shared->lock = &(GetNamedLWLockTranche(WORKER_LWLOCK_TRANCHE))->lock;
	worker_shared->nslots = worker_nslots();
	worker_shared->nholders = worker_nholders();
	worker_shared->held = (int *) p;
	p += MAXALIGN(mul_size(worker_shared->nholders, sizeof(int)));
	worker_shared->requests = (WorkerRequest *) p;
	p += MAXALIGN(mul_size(worker_shared->nslots, sizeof(WorkerRequest)));
	worker_shared->queue = (int *) p;
	p += MAXALIGN(mul_size(worker_shared->nslots, sizeof(int)));
	worker_shared->arena = (char *) TYPEALIGN(WORKER_IO_ALIGN, p);

	memset(worker_shared->held, 0, sizeof(int) * worker_shared->nholders);
	for (int i = 0; i < worker_shared->nslots; i++)
	{
		worker_shared->requests[i].state = REQ_FREE;
		worker_shared->requests[i].owner = -1;
		worker_shared->requests[i].runner = -1;
		worker_shared->requests[i].next_free =
			i + 1 < worker_shared->nslots ? i + 1 : -1;
	}
	worker_shared->free_head = 0;
	worker_shared->nfree = worker_shared->nslots;
	worker_shared->queue_head = 0;
	worker_shared->queue_count = 0;
	worker_shared->nrunning = 0;
	worker_shared->nowners = 0;
	worker_shared->nworkers = 0;
	for (int i = 0; i < MAX_IO_WORKERS; i++)
	{
		worker_shared->worker_procno[i] = -1;
		worker_shared->worker_idle[i] = false;
	}
}

/* Is the worker method usable in this backend (library preloaded)? */
bool
asyncscan_worker_available(void)
{
	return worker_shared != NULL;
}

static char *
slot_memory(int slot)
{
	return worker_shared->arena + (Size) slot * WORKER_SLOT_BYTES;
}

/* Append a slot to the queue; the caller holds the lock exclusively. */
static void
enqueue_locked(int slot)
{
	int			tail;

	/* at most one entry per slot, so the ring never overflows */
	if (worker_shared->queue_count >= worker_shared->nslots)
		elog(PANIC, "pg_asyncscan IO worker queue overflow");
	tail = (worker_shared->queue_head + worker_shared->queue_count) %
		worker_shared->nslots;
	worker_shared->queue[tail] = slot;
	worker_shared->queue_count++;
	worker_shared->requests[slot].state = REQ_QUEUED;
}

/*
 * Take a queued slot out of the queue; the caller holds the lock
 * exclusively.  The queue is short (at most one entry per slot) and this
 * is rare: a request taken back, or dropped by a draining owner, before
 * any worker got to it.  Returns false, changing nothing, if the slot is
 * not in the queue.
 */
static bool
unqueue_locked(int slot)
{
	int			n = worker_shared->nslots;
	int			i;

	for (i = 0; i < worker_shared->queue_count; i++)
	{
		if (worker_shared->queue[(worker_shared->queue_head + i) % n] == slot)
			break;
	}
	if (i == worker_shared->queue_count)
		return false;
	for (; i + 1 < worker_shared->queue_count; i++)
		worker_shared->queue[(worker_shared->queue_head + i) % n] =
			worker_shared->queue[(worker_shared->queue_head + i + 1) % n];
	worker_shared->queue_count--;
	return true;
}

/*
 * Give a slot back to the free list: the only place that does.  Only the
 * owning backend calls it, for a slot it holds by its own record and by
 * the shared one, that no process is reading into (staged, queued or
 * done).  Anything else is a bug that must not become a corrupted free
 * list or queue: it is reported and nothing is changed.  The caller holds
 * the lock exclusively.
 */
static bool
release_slot_locked(int slot)
{
	WorkerRequest *req = &worker_shared->requests[slot];
	int			me = asyncscan_my_procno();

	if (slot < 0 || slot >= worker_shared->nslots || my_slots == NULL ||
		!my_slots[slot] || req->owner != me ||
		(req->state != REQ_STAGED && req->state != REQ_QUEUED &&
		 req->state != REQ_DONE))
	{
		elog(WARNING, "pg_asyncscan: not releasing IO worker slot %d (state %d, owner %d, this backend %d)",
			 slot, slot >= 0 && slot < worker_shared->nslots ? (int) req->state : -1,
			 slot >= 0 && slot < worker_shared->nslots ? req->owner : -1, me);
		return false;
	}
	if (req->state == REQ_QUEUED && !unqueue_locked(slot))
	{
		elog(WARNING, "pg_asyncscan: IO worker slot %d is queued but not in the queue",
			 slot);
		return false;
	}

	req->state = REQ_FREE;
	req->owner = -1;
	req->next_free = worker_shared->free_head;
	worker_shared->free_head = slot;
	worker_shared->nfree++;
	my_slots[slot] = false;
	Assert(worker_shared->held[me] > 0);
	if (worker_shared->held[me] > 0 && --worker_shared->held[me] == 0)
		worker_shared->nowners--;
	return true;
}

/*
 * Give a slot back once no process reads into it any more.  A running
 * request is waited for: its worker finishes it, or hands it back to the
 * queue if it leaves first.  Never throws and serves no interrupts, so
 * that it can run on error and exit paths.
 */
static void
wait_and_release_slot(int slot)
{
	for (;;)
	{
		WorkerRequestState state;

		LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
		state = worker_shared->requests[slot].state;
		if (state != REQ_RUNNING)
		{
			(void) release_slot_locked(slot);
			LWLockRelease(worker_shared->lock);
			return;
		}
		LWLockRelease(worker_shared->lock);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 WORKER_DRAIN_POLL_MS, WAIT_EVENT_DATA_FILE_READ);
		ResetLatch(MyLatch);
	}
}

/*
 * Take a free slot for this backend, within its fair share; -1 if none, or
 * if no worker is running (then queueing would only delay the read).
 */
static int
take_slot(void)
{
	int			me = asyncscan_my_procno();
	int			slot = -1;

	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	if (worker_shared->free_head >= 0 && worker_shared->nworkers > 0)
	{
		int			owners = worker_shared->nowners +
			(worker_shared->held[me] == 0 ? 1 : 0);
		int			share = Max(worker_shared->nslots / Max(owners, 1), 1);

		if (worker_shared->held[me] < share)
		{
			WorkerRequest *req;

			slot = worker_shared->free_head;
			req = &worker_shared->requests[slot];
			if (req->state != REQ_FREE)
				elog(PANIC, "pg_asyncscan: IO worker slot %d on the free list is in state %d",
					 slot, (int) req->state);
			worker_shared->free_head = req->next_free;
			worker_shared->nfree--;
			req->state = REQ_STAGED;
			req->owner = me;
			req->runner = -1;
			if (worker_shared->held[me]++ == 0)
				worker_shared->nowners++;
			Assert(!my_slots[slot]);
			my_slots[slot] = true;
		}
	}
	LWLockRelease(worker_shared->lock);
	return slot;
}

static void
owner_forget_slot(WorkerOwner *owner, int slot)
{
	for (int i = 0; i < owner->nheld; i++)
	{
		if (owner->held[i] == slot)
		{
			owner->held[i] = owner->held[--owner->nheld];
			return;
		}
	}
	elog(ERROR, "pg_asyncscan: IO worker slot %d is not held by this scan", slot);
}

static void
worker_init_owner(AsyncScanIo *io)
{
	if (worker_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("io_method \"worker\" needs pg_asyncscan in shared_preload_libraries")));
	if (my_slots == NULL)
	{
		my_slots = MemoryContextAllocZero(TopMemoryContext,
										  sizeof(bool) * worker_shared->nslots);
		/*
		 * After the transaction abort of backend exit (before_shmem_exit
		 * callbacks, which drain every stream), give back whatever is
		 * still ours.
		 */
		on_shmem_exit(backend_exit_release, (Datum) 0);
	}
	io->method_private = palloc0(sizeof(WorkerOwner));
}

static void
worker_start_read(AsyncScanIo *io, AsyncScanRead *read)
{
	WorkerOwner *owner = (WorkerOwner *) io->method_private;
	WorkerRequest *req;
	int			slot;

	Assert(read->length <= WORKER_SLOT_BYTES);

	slot = take_slot();
	if (slot < 0)
	{
		/* the arena is full, or we hold our share: read it ourselves */
		read->method_slot = -1;
		read->state = ASYNCSCAN_READ_SUBMITTED;
		asyncscan_read_sync(read);
		io->inline_reads++;
		return;
	}

	/* the slot is ours and not queued yet: nobody else looks at it */
	req = &worker_shared->requests[slot];
	req->spc_oid = io->spc_oid;
	req->db_oid = io->db_oid;
	req->rel_number = io->rel_number;
	req->segno = read->first_block / RELSEG_SIZE;
	req->offset = read->offset;
	req->length = read->length;
	/* the page cache holds it all: the worker copies it, no O_DIRECT */
	req->direct_io = io->direct_io && !asyncscan_read_is_cached(read);

	/*
	 * Through the page cache, the kernel must start reading the window
	 * before a worker gets to each read, so that a few workers keep a
	 * whole window of reads going on the device.  The first worker that
	 * takes a request from the queue announces the ones queued behind it
	 * (posix_fadvise): not the backend, for whom that is a system call
	 * per read that also issues the device's requests (measured, cold
	 * scan of 1.9 GB on a virtual machine: 0.7 s of the backend's time).
	 */
	req->advised = req->direct_io;
	req->transferred = 0;
	req->error = 0;
	req->checksums_ok = 0;

	read->method_slot = slot;
	read->target = slot_memory(slot);
	read->state = ASYNCSCAN_READ_STAGED;
	Assert(owner->nheld < ASYNCSCAN_MAX_IO_DEPTH);
	owner->held[owner->nheld++] = slot;
	owner->staged[owner->nstaged++] = slot;
	io->nstaged++;
	io->ninflight++;
}

/* Queue the staged slots and wake idle workers. */
static void
worker_submit(AsyncScanIo *io)
{
	WorkerOwner *owner = (WorkerOwner *) io->method_private;
	int			wake[MAX_IO_WORKERS];
	int			nwake = 0;

	if (owner->nstaged == 0)
		return;

	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < owner->nstaged; i++)
	{
		int			slot = owner->staged[i];

		if (worker_shared->requests[slot].state != REQ_STAGED)
			elog(PANIC, "pg_asyncscan: IO worker slot %d submitted in state %d",
				 slot, (int) worker_shared->requests[slot].state);
		enqueue_locked(slot);
	}
	for (int w = 0; w < MAX_IO_WORKERS && nwake < owner->nstaged; w++)
	{
		if (worker_shared->worker_idle[w] && worker_shared->worker_procno[w] >= 0)
		{
			worker_shared->worker_idle[w] = false;
			wake[nwake++] = worker_shared->worker_procno[w];
		}
	}
	LWLockRelease(worker_shared->lock);

	for (int i = 0; i < nwake; i++)
		SetLatch(&GetPGProcByNumber(wake[i])->procLatch);

	owner->nstaged = 0;
	io->nstaged = 0;
}

/*
 * Take the outcome of a finished request into the read; false if the
 * request is still queued or running.
 */
static bool
worker_collect(AsyncScanIo *io, AsyncScanRead *read)
{
	WorkerRequest *req = &worker_shared->requests[read->method_slot];
	bool		done;

	LWLockAcquire(worker_shared->lock, LW_SHARED);
	done = req->state == REQ_DONE;
	if (done)
	{
		read->transferred = req->transferred;
		read->error = req->error;
		read->checksums_verified = req->checksums_ok;
	}
	LWLockRelease(worker_shared->lock);

	if (!done)
		return false;
	if (read->error == 0 && read->transferred == read->length)
		read->state = ASYNCSCAN_READ_DONE;
	else
		read->state = ASYNCSCAN_READ_FAILED;
	io->ninflight--;
	return true;
}

/*
 * The request of read is still queued after a wait: take it back and read
 * it ourselves (a backend must never wait on a queue nobody serves).
 * False if a worker has it.
 */
static bool
worker_take_back(AsyncScanIo *io, AsyncScanRead *read)
{
	int			slot = read->method_slot;
	WorkerRequest *req = &worker_shared->requests[slot];
	bool		taken;

	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	taken = req->state == REQ_QUEUED && unqueue_locked(slot);
	if (taken)
	{
		req->state = REQ_RUNNING;
		req->runner = -1;
		worker_shared->nrunning++;
	}
	LWLockRelease(worker_shared->lock);
	if (!taken)
		return false;

	/*
	 * Same as a worker does, into the same slot.  Nothing here throws, so
	 * the request cannot be left running.
	 */
	read->transferred = 0;
	read->error = asyncscan_pread_rest(read->direct_fd >= 0 ? read->direct_fd : read->fd,
									   read->target, read->length, read->offset,
									   &read->transferred);
	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	req->transferred = read->transferred;
	req->error = read->error;
	req->checksums_ok = 0;
	req->state = REQ_DONE;
	worker_shared->nrunning--;
	LWLockRelease(worker_shared->lock);
	io->inline_reads++;
	return true;
}

static void
worker_wait_read(AsyncScanIo *io, AsyncScanRead *read)
{
	if (io->nstaged > 0)
		worker_submit(io);
	if (read->state != ASYNCSCAN_READ_SUBMITTED &&
		read->state != ASYNCSCAN_READ_STAGED)
		return;
	read->state = ASYNCSCAN_READ_SUBMITTED;

	while (!worker_collect(io, read))
	{
		int			rc;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   WORKER_TAKE_BACK_MS, WAIT_EVENT_DATA_FILE_READ);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if ((rc & WL_TIMEOUT) != 0)
			(void) worker_take_back(io, read);
	}
}

/* The stream is done with the slot's page: give the slot back. */
static void
worker_release_read(AsyncScanIo *io, AsyncScanRead *read)
{
	int			slot = read->method_slot;

	if (slot < 0)
		return;					/* read inline, into private memory */
	owner_forget_slot((WorkerOwner *) io->method_private, slot);
	read->method_slot = -1;
	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	(void) release_slot_locked(slot);
	LWLockRelease(worker_shared->lock);
}

/*
 * Give back every slot of this stream: queued ones leave the queue,
 * running ones are waited for.  Must not throw (it runs when an ERROR
 * unwinds the stream's memory).
 */
static void
worker_drain(AsyncScanIo *io)
{
	WorkerOwner *owner = (WorkerOwner *) io->method_private;

	if (owner != NULL)
	{
		while (owner->nheld > 0)
			wait_and_release_slot(owner->held[--owner->nheld]);
		owner->nstaged = 0;
	}
	io->nstaged = 0;
	io->ninflight = 0;
}

/*
 * Backend exit, after the transaction abort: give back whatever this
 * backend still holds (nothing, normally: every stream drained when its
 * memory went away).
 */
static void
backend_exit_release(int code, Datum arg)
{
	if (worker_shared == NULL || my_slots == NULL || MyProc == NULL)
		return;
	for (int slot = 0; slot < worker_shared->nslots; slot++)
	{
		if (my_slots[slot])
			wait_and_release_slot(slot);
	}
}

static void
worker_end_owner(AsyncScanIo *io)
{
	io->method_private = NULL;
}

const IoMethodOps asyncscan_io_worker_ops = {
	.name = "worker",
	.init_owner = worker_init_owner,
	.start_read = worker_start_read,
	.submit = worker_submit,
	.wait_read = worker_wait_read,
	.drain = worker_drain,
	.end_owner = worker_end_owner,
	.release_read = worker_release_read,
	.max_read_blocks = WORKER_SLOT_BLOCKS,
};

/* ---- the worker process ---- */

/*
 * A running request goes back to the queue, untouched but for its
 * outcome: its worker is leaving or failed.  Its owner, or another
 * worker, reads it again.  The caller holds the lock exclusively.
 */
static void
requeue_running_locked(int slot)
{
	WorkerRequest *req = &worker_shared->requests[slot];

	if (req->state != REQ_RUNNING || req->runner != my_worker_number)
	{
		elog(WARNING, "pg_asyncscan: IO worker %d does not run slot %d (state %d)",
			 my_worker_number, slot, (int) req->state);
		return;
	}
	req->transferred = 0;
	req->error = 0;
	req->runner = -1;
	worker_shared->nrunning--;
	enqueue_locked(slot);
}

/*
 * A worker leaves (pg_terminate_backend, shutdown, FATAL): its request
 * goes back to the queue, and no backend queues for it any more.
 */
static void
worker_exit(int code, Datum arg)
{
	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	if (my_running_slot >= 0)
		requeue_running_locked(my_running_slot);
	my_running_slot = -1;
	if (worker_shared->worker_procno[my_worker_number] >= 0)
		worker_shared->nworkers--;
	worker_shared->worker_procno[my_worker_number] = -1;
	worker_shared->worker_idle[my_worker_number] = false;
	LWLockRelease(worker_shared->lock);
}

/* The path of the segment file a request reads, palloc'd */
static char *
request_segment_path(const WorkerRequest *req)
{
	char	   *path = asyncscan_relpath_perm(req->db_oid, req->spc_oid, req->rel_number);

	return req->segno == 0 ? path : psprintf("%s.%d", path, req->segno);
}

/*
 * Perform one request into its arena slot.  Errors are the request's
 * outcome, not the worker's.
 */
static void
worker_perform(WorkerRequest *req, char *target)
{
	char	   *segpath = request_segment_path(req);
	int			fd;

	fd = BasicOpenFile(segpath, O_RDONLY | PG_BINARY |
					   (req->direct_io ? O_DIRECT : 0));
	if (fd < 0 && req->direct_io && errno == EINVAL)
		fd = BasicOpenFile(segpath, O_RDONLY | PG_BINARY);
	if (fd < 0)
		req->error = errno;
	else
	{
		req->error = asyncscan_pread_rest(fd, target, req->length, req->offset,
										  &req->transferred);
		close(fd);
	}

	/*
	 * Verify the checksums here, beside the executor rather than in it; the
	 * backend checks only the blocks not marked (a mismatch is marked as
	 * not verified, and the backend's own check then rejects the copy).
	 */
	req->checksums_ok = 0;
	if (req->error == 0 && req->transferred == req->length &&
		DataChecksumsEnabled())
	{
		BlockNumber first = req->segno * RELSEG_SIZE + req->offset / BLCKSZ;

		for (int i = 0; i < (int) (req->length / BLCKSZ); i++)
		{
			PageHeader	page = (PageHeader) (target + (Size) i * BLCKSZ);

			if (!PageIsNew((Page) page) &&
				asyncscan_checksum_page((char *) page, first + i) == page->pd_checksum)
				req->checksums_ok |= (uint32) 1 << i;
		}
	}
}

/*
 * Announce the reads worker_next_request took (posix_fadvise WILLNEED):
 * the kernel starts reading them all now, while this worker performs the
 * first.  Consecutive reads of one segment file share one descriptor; a
 * file that cannot be opened is skipped (performing its read reports why).
 * The descriptor is opened for this and closed again, never kept: a kept
 * one could outlive its file and, once the file's number is reused, name
 * another relation's.
 */
static void
worker_advise(void)
{
#if defined(USE_POSIX_FADVISE) && defined(POSIX_FADV_WILLNEED)
	int			fd = -1;

	for (int i = 0; i < my_nadvice; i++)
	{
		WorkerRequest *a = &my_advice[i];

		if (i == 0 || a->spc_oid != a[-1].spc_oid || a->db_oid != a[-1].db_oid ||
			a->rel_number != a[-1].rel_number || a->segno != a[-1].segno)
		{
			if (fd >= 0)
				close(fd);
			fd = BasicOpenFile(request_segment_path(a), O_RDONLY | PG_BINARY);
		}
		if (fd >= 0)
			(void) posix_fadvise(fd, a->offset, a->length, POSIX_FADV_WILLNEED);
	}
	if (fd >= 0)
		close(fd);
#endif
	my_nadvice = 0;
}

/* The next queued request for this worker, now running; or -1. */
static int
worker_next_request(void)
{
	int			slot = -1;

	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	while (worker_shared->queue_count > 0)
	{
		WorkerRequest *req;

		slot = worker_shared->queue[worker_shared->queue_head];
		worker_shared->queue_head = (worker_shared->queue_head + 1) %
			worker_shared->nslots;
		worker_shared->queue_count--;
		req = &worker_shared->requests[slot];
		/* taken-back and dropped requests leave the queue at once */
		if (req->state == REQ_QUEUED)
		{
			req->state = REQ_RUNNING;
			req->runner = my_worker_number;
			worker_shared->nrunning++;
			break;
		}
		elog(WARNING, "pg_asyncscan: IO worker slot %d was queued in state %d",
			 slot, (int) req->state);
		slot = -1;
	}

	/*
	 * Take this request and the ones queued behind it that nobody has
	 * announced yet, to announce them (worker_advise) once the lock is
	 * released.
	 */
	my_nadvice = 0;
	for (int i = -1; slot >= 0 && i < worker_shared->queue_count &&
		 my_nadvice < WORKER_ADVISE_MAX; i++)
	{
		WorkerRequest *req;

		req = &worker_shared->requests[i < 0 ? slot :
									   worker_shared->queue[(worker_shared->queue_head + i) %
															worker_shared->nslots]];
		if (req->advised || (i >= 0 && req->state != REQ_QUEUED))
			continue;
		req->advised = true;
		my_advice[my_nadvice++] = *req;
	}
	/* busy or about to sleep: submitters must know which */
	worker_shared->worker_idle[my_worker_number] = slot < 0;
	my_running_slot = slot;
	LWLockRelease(worker_shared->lock);
	return slot;
}

/*
 * An IO worker enters the shared area: counted among the workers, its
 * process known to the backends that wake it.
 */
static void
worker_announce(void)
{
	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	if (worker_shared->worker_procno[my_worker_number] < 0)
		worker_shared->nworkers++;
	worker_shared->worker_procno[my_worker_number] = asyncscan_my_procno();
	worker_shared->worker_idle[my_worker_number] = false;
	LWLockRelease(worker_shared->lock);
	/* however it exits, its request goes back and backends stop queueing */
	before_shmem_exit(worker_exit, (Datum) 0);
}

/*
 * After an ERROR in an IO worker (back at its sigsetjmp): report it, give
 * the request it was running back to the queue, and clean up to go on.
 */
static void
worker_recover_from_error(MemoryContext request_cxt)
{
	error_context_stack = NULL;
	HOLD_INTERRUPTS();
	EmitErrorReport();
	LWLockReleaseAll();
	pgstat_report_wait_end();

	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	if (my_running_slot >= 0)
		requeue_running_locked(my_running_slot);
	my_running_slot = -1;
	LWLockRelease(worker_shared->lock);

	MemoryContextSwitchTo(TopMemoryContext);
	FlushErrorState();
	MemoryContextReset(request_cxt);
	RESUME_INTERRUPTS();

	/* do not spin if the error repeats */
	pg_usleep(100000L);
}

/* Publish the outcome of the request and wake its owner. */
static void
worker_finish_request(int slot)
{
	WorkerRequest *req = &worker_shared->requests[slot];
	int			owner = -1;

	LWLockAcquire(worker_shared->lock, LW_EXCLUSIVE);
	if (req->state == REQ_RUNNING && req->runner == my_worker_number)
	{
		req->state = REQ_DONE;
		req->runner = -1;
		worker_shared->nrunning--;
		owner = req->owner;
	}
	else
		elog(WARNING, "pg_asyncscan: IO worker %d finished slot %d in state %d",
			 my_worker_number, slot, (int) req->state);
	my_running_slot = -1;
	LWLockRelease(worker_shared->lock);

	if (owner >= 0)
		SetLatch(&GetPGProcByNumber(owner)->procLatch);
}

/*
 * Main of an IO worker process: take requests from the queue, perform
 * them into the arena, and wake their owners, until shutdown.
 */
void
asyncscan_io_worker_main(Datum main_arg)
{
	sigjmp_buf	local_sigjmp_buf;
	MemoryContext request_cxt;

	my_worker_number = DatumGetInt32(main_arg);
	Assert(my_worker_number >= 0 && my_worker_number < MAX_IO_WORKERS);

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	/* there is no statement to cancel: pg_cancel_backend leaves it alone */
	pqsignal(SIGINT, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_asyncscan io worker");

	Assert(worker_shared != NULL);

	request_cxt = AllocSetContextCreate(TopMemoryContext,
										"pg_asyncscan io worker",
										ALLOCSET_SMALL_SIZES);

	worker_announce();

	/*
	 * An ERROR (out of memory, say) hands the request back and the worker
	 * goes on, as PostgreSQL's own auxiliary processes do.
	 */
	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
		worker_recover_from_error(request_cxt);
	PG_exception_stack = &local_sigjmp_buf;

	while (!ShutdownRequestPending)
	{
		int			slot;

		/*
		 * Absorb ProcSignalBarriers (DROP DATABASE and DROP TABLESPACE wait
		 * for every process), never while holding a request.
		 */
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		slot = worker_next_request();
		if (slot < 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}

		MemoryContextSwitchTo(request_cxt);
		worker_advise();
		worker_perform(&worker_shared->requests[slot], slot_memory(slot));
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(request_cxt);
		worker_finish_request(slot);
	}

	/*
	 * Exit code 1 lets the postmaster start the worker again after
	 * bgw_restart_time when it was terminated alone (pg_terminate_backend);
	 * with exit code 0 it would be gone for good.  At server shutdown
	 * nothing is restarted either way.
	 */
	proc_exit(1);
}

/* ---- SQL: the state of the queue and arena ---- */

PG_FUNCTION_INFO_V1(pg_asyncscan_worker_status);

/*
 * pg_asyncscan_worker_status() - one row: IO workers running, arena slots,
 * free slots, queued requests, running requests, backends holding slots.
 * Lets an administrator (and the tests) see that nothing is left behind.
 * Every figure is a counter kept up to date by the queue's operations, so
 * this reads a handful of integers under the lock in shared mode and never
 * walks the arena; EXECUTE is granted to pg_read_all_stats only.
 */
Datum
pg_asyncscan_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {0};

	if (worker_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_asyncscan IO workers are not available"),
				 errhint("Add pg_asyncscan to shared_preload_libraries and restart the server.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(worker_shared->lock, LW_SHARED);
	values[0] = Int32GetDatum(worker_shared->nworkers);
	values[1] = Int32GetDatum(worker_shared->nslots);
	values[2] = Int32GetDatum(worker_shared->nfree);
	values[3] = Int32GetDatum(worker_shared->queue_count);
	values[4] = Int32GetDatum(worker_shared->nrunning);
	values[5] = Int32GetDatum(worker_shared->nowners);
	LWLockRelease(worker_shared->lock);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
