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
 * largest read, pg_asyncscan.io_combine_limit's default of 16 blocks).  A
 * backend stages a read by taking a free slot, submits its batch by
 * appending the slots to the queue and setting the latches of idle
 * workers, and waits on its own latch only when the page it needs is not
 * ready.  A worker opens the segment file itself (the backend's
 * descriptors are not shared), reads into the slot and sets the owner's
 * latch.  The stream then uses the page in the slot where it lies -- the
 * backend copies nothing -- and gives the slot back when it has consumed
 * the read (release_read).
 *
 * A worker never touches a backend's private memory, so an owner that
 * errors out or exits need not wait for anything: drain takes its queued
 * requests out of the queue and frees them with its finished ones, and
 * marks running ones abandoned; a worker that finishes an abandoned
 * request frees its slot.  A request still queued after a short wait is
 * taken back and read by its owner, so a backend never waits on a queue
 * that nobody serves (all workers busy, or not running).  A
 * backend exiting by any path runs the same through a before_shmem_exit
 * callback.  A worker that dies takes the server through crash restart,
 * like any process attached to shared memory, so no backend waits for it
 * forever.
 *
 * Fairness: an owner may hold at most its share of the arena, the slot
 * count divided by the number of backends holding slots.  When it has its
 * share, or the arena is full, the backend reads inline, in its own
 * process, into its private target: never a deadlock, and counted in
 * EXPLAIN as inline reads.
 *
 * IDENTIFICATION
 *	  src/io_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "access/twophase.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "io.h"
#include "shmem.h"

/* Blocks per arena slot, the largest read this method takes */
#define WORKER_SLOT_BLOCKS		16
#define WORKER_SLOT_BYTES		(WORKER_SLOT_BLOCKS * BLCKSZ)
#define WORKER_IO_ALIGN			4096
#define MAX_IO_WORKERS			32

/* a request still queued after this long is read by its owner */
#define WORKER_TAKE_BACK_MS		100

typedef enum WorkerRequestState
{
	REQ_FREE = 0,				/* on the free list */
	REQ_STAGED,					/* taken by an owner, not yet queued */
	REQ_QUEUED,					/* waiting for a worker */
	REQ_RUNNING,				/* a worker is reading */
	REQ_DONE,					/* finished (error holds the outcome) */
	REQ_ABANDONED				/* owner gone; whoever finishes it frees it */
} WorkerRequestState;

/* One request, paired with one arena slot of the same index. */
typedef struct WorkerRequest
{
	WorkerRequestState state;
	int			owner;			/* pgprocno of the owner */
	int			next_free;		/* free list link */
	/* what to read */
	Oid			spc_oid;
	Oid			db_oid;
	Oid			rel_number;
	int			segno;
	off_t		offset;
	size_t		length;
	bool		direct_io;		/* open with O_DIRECT */
	/* outcome */
	size_t		transferred;
	int			error;			/* errno, 0 if none */
	pid_t		worker_pid;		/* who runs it; 0 for its owner */
} WorkerRequest;

/* The shared part, followed by held[], requests[], queue[] and the arena */
typedef struct WorkerShared
{
	slock_t		mutex;			/* protects everything but the arena */
	int			nslots;
	int			free_head;		/* first free slot, -1 if none */
	int			nfree;
	int			queue_head;		/* ring of queued slot numbers */
	int			queue_count;
	int			nowners;		/* backends holding at least one slot */
	int			nholders;		/* entries of held[] */
	int			worker_procno[MAX_IO_WORKERS];	/* -1 until started */
	bool		worker_idle[MAX_IO_WORKERS];
	int		   *held;			/* slots held, per pgprocno */
	WorkerRequest *requests;
	int		   *queue;
	char	   *arena;
} WorkerShared;

/* GUC variables */
int			asyncscan_io_workers = 3;
int			asyncscan_worker_arena_size = 16384;	/* kB */

static WorkerShared *worker_shared = NULL;
static bool exit_callback_registered = false;

PGDLLEXPORT void asyncscan_io_worker_main(Datum main_arg);

static void worker_abandon_all(int code, Datum arg);
static void worker_abandon_slot(int slot);
static void worker_free_slot_locked(int slot);

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

Size
asyncscan_worker_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(WorkerShared));

	size = add_size(size, MAXALIGN(mul_size(worker_nholders(), sizeof(int))));
	size = add_size(size, MAXALIGN(mul_size(worker_nslots(), sizeof(WorkerRequest))));
	size = add_size(size, MAXALIGN(mul_size(worker_nslots(), sizeof(int))));
	size = add_size(size, WORKER_IO_ALIGN);
	size = add_size(size, mul_size(worker_nslots(), WORKER_SLOT_BYTES));
	return size;
}

void
asyncscan_worker_shmem_startup(void)
{
	bool		found;
	char	   *p;

	worker_shared = ShmemInitStruct("pg_asyncscan io workers",
									asyncscan_worker_shmem_size(), &found);
	if (found)
		return;

	p = (char *) worker_shared + MAXALIGN(sizeof(WorkerShared));
	SpinLockInit(&worker_shared->mutex);
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
		worker_shared->requests[i].next_free =
			i + 1 < worker_shared->nslots ? i + 1 : -1;
	}
	worker_shared->free_head = 0;
	worker_shared->nfree = worker_shared->nslots;
	worker_shared->queue_head = 0;
	worker_shared->queue_count = 0;
	worker_shared->nowners = 0;
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

/* Return a slot to the free list; the caller holds the mutex. */
static void
worker_free_slot_locked(int slot)
{
	WorkerRequest *req = &worker_shared->requests[slot];
	int			owner = req->owner;

	Assert(req->state != REQ_FREE);
	Assert(owner >= 0 && owner < worker_shared->nholders);
	req->state = REQ_FREE;
	req->next_free = worker_shared->free_head;
	worker_shared->free_head = slot;
	worker_shared->nfree++;
	Assert(worker_shared->held[owner] > 0);
	if (--worker_shared->held[owner] == 0)
		worker_shared->nowners--;
}

/*
 * Take a queued slot out of the queue; the caller holds the mutex.  The
 * queue is short (at most one entry per slot) and this is rare: a request
 * taken back or abandoned before any worker got to it.
 */
static void
worker_unqueue_locked(int slot)
{
	int			n = worker_shared->nslots;
	int			i;

	for (i = 0; i < worker_shared->queue_count; i++)
	{
		if (worker_shared->queue[(worker_shared->queue_head + i) % n] == slot)
			break;
	}
	Assert(i < worker_shared->queue_count);
	for (; i + 1 < worker_shared->queue_count; i++)
		worker_shared->queue[(worker_shared->queue_head + i) % n] =
			worker_shared->queue[(worker_shared->queue_head + i + 1) % n];
	worker_shared->queue_count--;
}

/* Is any IO worker running?  The caller holds the mutex. */
static bool
worker_running_locked(void)
{
	for (int w = 0; w < MAX_IO_WORKERS; w++)
		if (worker_shared->worker_procno[w] >= 0)
			return true;
	return false;
}

/*
 * Take a free slot for this backend, within its fair share; -1 if none, or
 * if no worker is running (then queueing would only delay the read).
 */
static int
worker_take_slot(void)
{
	int			me = asyncscan_my_procno();
	int			slot = -1;

	SpinLockAcquire(&worker_shared->mutex);
	if (worker_shared->free_head >= 0 && worker_running_locked())
	{
		int			owners = worker_shared->nowners +
			(worker_shared->held[me] == 0 ? 1 : 0);
		int			share = Max(worker_shared->nslots / Max(owners, 1), 1);

		if (worker_shared->held[me] < share)
		{
			WorkerRequest *req;

			slot = worker_shared->free_head;
			req = &worker_shared->requests[slot];
			Assert(req->state == REQ_FREE);
			worker_shared->free_head = req->next_free;
			worker_shared->nfree--;
			req->state = REQ_STAGED;
			req->owner = me;
			if (worker_shared->held[me]++ == 0)
				worker_shared->nowners++;
		}
	}
	SpinLockRelease(&worker_shared->mutex);
	return slot;
}

/* Per-owner (per-stream) state */
typedef struct WorkerOwner
{
	int			nstaged;		/* staged, not yet queued */
	int			staged[ASYNCSCAN_MAX_IO_DEPTH];
	int			nheld;			/* every slot this stream holds */
	int			held[ASYNCSCAN_MAX_IO_DEPTH];
} WorkerOwner;

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
	Assert(false);
}

static void
worker_init_owner(AsyncScanIo *io)
{
	if (worker_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("io_method \"worker\" needs pg_asyncscan in shared_preload_libraries")));
	if (!exit_callback_registered)
	{
		before_shmem_exit(worker_abandon_all, (Datum) 0);
		exit_callback_registered = true;
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

	slot = worker_take_slot();
	if (slot < 0)
	{
		/* the arena is full, or we hold our share: read it ourselves */
		read->method_slot = -1;
		read->state = ASYNCSCAN_READ_SUBMITTED;
		asyncscan_read_sync(read);
		io->inline_reads++;
		return;
	}

	req = &worker_shared->requests[slot];
	req->spc_oid = io->spc_oid;
	req->db_oid = io->db_oid;
	req->rel_number = io->rel_number;
	req->segno = read->first_block / RELSEG_SIZE;
	req->offset = read->offset;
	req->length = read->length;
	/* the page cache holds it all: the worker copies it, no O_DIRECT */
	req->direct_io = io->direct_io && !asyncscan_read_is_cached(read);
	req->transferred = 0;
	req->error = 0;

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

	SpinLockAcquire(&worker_shared->mutex);
	for (int i = 0; i < owner->nstaged; i++)
	{
		int			slot = owner->staged[i];
		int			tail;

		Assert(worker_shared->requests[slot].state == REQ_STAGED);
		Assert(worker_shared->queue_count < worker_shared->nslots);
		worker_shared->requests[slot].state = REQ_QUEUED;
		tail = (worker_shared->queue_head + worker_shared->queue_count) %
			worker_shared->nslots;
		worker_shared->queue[tail] = slot;
		worker_shared->queue_count++;
	}
	for (int w = 0; w < MAX_IO_WORKERS && nwake < owner->nstaged; w++)
	{
		if (worker_shared->worker_idle[w] && worker_shared->worker_procno[w] >= 0)
		{
			worker_shared->worker_idle[w] = false;
			wake[nwake++] = worker_shared->worker_procno[w];
		}
	}
	SpinLockRelease(&worker_shared->mutex);

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

	SpinLockAcquire(&worker_shared->mutex);
	done = req->state == REQ_DONE;
	if (done)
	{
		read->transferred = req->transferred;
		read->error = req->error;
	}
	SpinLockRelease(&worker_shared->mutex);

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
 * The request of read is still queued after a wait, or its worker has
 * exited without finishing it: take it back and read it ourselves (a
 * backend must never wait on a queue nobody serves).  False if a live
 * worker has it.
 */
static bool
worker_take_back(AsyncScanIo *io, AsyncScanRead *read)
{
	WorkerRequest *req = &worker_shared->requests[read->method_slot];
	bool		taken;

	SpinLockAcquire(&worker_shared->mutex);
	taken = req->state == REQ_QUEUED;
	if (taken)
		worker_unqueue_locked(read->method_slot);
	else if (req->state == REQ_RUNNING && req->worker_pid != 0 &&
			 kill(req->worker_pid, 0) != 0 && errno == ESRCH)
		taken = true;			/* its worker exited without finishing */
	if (taken)
	{
		req->state = REQ_RUNNING;
		req->worker_pid = 0;
	}
	SpinLockRelease(&worker_shared->mutex);
	if (!taken)
		return false;

	/* same as a worker does, into the same slot */
	read->transferred = 0;
	read->error = asyncscan_pread_rest(read->direct_fd >= 0 ? read->direct_fd : read->fd,
									   read->target, read->length, read->offset,
									   &read->transferred);
	SpinLockAcquire(&worker_shared->mutex);
	req->transferred = read->transferred;
	req->error = read->error;
	req->state = REQ_DONE;
	SpinLockRelease(&worker_shared->mutex);
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
	if (read->method_slot < 0)
		return;					/* read inline, into private memory */
	owner_forget_slot((WorkerOwner *) io->method_private, read->method_slot);
	SpinLockAcquire(&worker_shared->mutex);
	worker_free_slot_locked(read->method_slot);
	SpinLockRelease(&worker_shared->mutex);
	read->method_slot = -1;
}

/*
 * Nothing of ours is written into private memory, so nothing to wait for:
 * free what is finished or never queued, abandon what is queued or running.
 */
static void
worker_abandon_slot(int slot)
{
	WorkerRequest *req = &worker_shared->requests[slot];

	SpinLockAcquire(&worker_shared->mutex);
	if (req->state == REQ_QUEUED)
	{
		worker_unqueue_locked(slot);
		worker_free_slot_locked(slot);
	}
	else if (req->state == REQ_RUNNING)
		req->state = REQ_ABANDONED; /* the worker frees it when done */
	else if (req->state == REQ_STAGED || req->state == REQ_DONE)
		worker_free_slot_locked(slot);
	SpinLockRelease(&worker_shared->mutex);
}

static void
worker_drain(AsyncScanIo *io)
{
	WorkerOwner *owner = (WorkerOwner *) io->method_private;

	if (owner != NULL)
	{
		for (int i = 0; i < owner->nheld; i++)
			worker_abandon_slot(owner->held[i]);
		owner->nheld = 0;
		owner->nstaged = 0;
	}
	io->nstaged = 0;
	io->ninflight = 0;
}

/*
 * Backend exit: abandon or free every slot this backend still holds, for
 * any stream (before_shmem_exit; transaction abort has normally drained
 * them already).
 */
static void
worker_abandon_all(int code, Datum arg)
{
	int			me;

	if (worker_shared == NULL || MyProc == NULL)
		return;
	me = asyncscan_my_procno();
	for (int slot = 0; slot < worker_shared->nslots; slot++)
	{
		WorkerRequest *req = &worker_shared->requests[slot];
		bool		mine;

		SpinLockAcquire(&worker_shared->mutex);
		mine = req->owner == me && req->state != REQ_FREE &&
			req->state != REQ_ABANDONED;
		SpinLockRelease(&worker_shared->mutex);
		if (mine)
			worker_abandon_slot(slot);
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

/* A worker leaves: no backend queues for it any more. */
static void
worker_unregister(int code, Datum arg)
{
	int			me = DatumGetInt32(arg);

	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->worker_procno[me] = -1;
	worker_shared->worker_idle[me] = false;
	SpinLockRelease(&worker_shared->mutex);
}

/*
 * Perform one request into its arena slot.
 */
static void
worker_perform(WorkerRequest *req, char *target)
{
	char	   *path;
	char	   *segpath;
	int			fd;

	path = asyncscan_relpath_perm(req->db_oid, req->spc_oid, req->rel_number);
	segpath = req->segno == 0 ? path : psprintf("%s.%d", path, req->segno);

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
	if (segpath != path)
		pfree(segpath);
	pfree(path);
}

void
asyncscan_io_worker_main(Datum main_arg)
{
	int			me = DatumGetInt32(main_arg);

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_asyncscan io worker");

	Assert(worker_shared != NULL);
	Assert(me >= 0 && me < MAX_IO_WORKERS);

	SpinLockAcquire(&worker_shared->mutex);
	worker_shared->worker_procno[me] = asyncscan_my_procno();
	worker_shared->worker_idle[me] = false;
	SpinLockRelease(&worker_shared->mutex);
	/* however it exits, backends must stop queueing for it */
	before_shmem_exit(worker_unregister, Int32GetDatum(me));

	while (!ShutdownRequestPending)
	{
		int			slot = -1;
		WorkerRequest *req;
		int			owner;
		bool		abandoned;

		/*
		 * Absorb ProcSignalBarriers (DROP DATABASE and DROP TABLESPACE wait
		 * for every process), never while holding a request.
		 */
		CHECK_FOR_INTERRUPTS();

		SpinLockAcquire(&worker_shared->mutex);
		if (worker_shared->queue_count > 0)
		{
			slot = worker_shared->queue[worker_shared->queue_head];
			worker_shared->queue_head = (worker_shared->queue_head + 1) %
				worker_shared->nslots;
			worker_shared->queue_count--;
			req = &worker_shared->requests[slot];
			/* taken-back and abandoned requests leave the queue at once */
			Assert(req->state == REQ_QUEUED);
			req->state = REQ_RUNNING;
			req->worker_pid = MyProcPid;
		}
		if (slot < 0)
			worker_shared->worker_idle[me] = true;
		SpinLockRelease(&worker_shared->mutex);

		if (slot < 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
			}
			continue;
		}

		req = &worker_shared->requests[slot];
		worker_perform(req, slot_memory(slot));

		SpinLockAcquire(&worker_shared->mutex);
		owner = req->owner;
		abandoned = req->state == REQ_ABANDONED;
		if (abandoned)
			worker_free_slot_locked(slot);
		else
			req->state = REQ_DONE;
		SpinLockRelease(&worker_shared->mutex);

		if (!abandoned)
			SetLatch(&GetPGProcByNumber(owner)->procLatch);
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
 */
Datum
pg_asyncscan_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {0};
	int			running = 0;
	int			workers = 0;

	if (worker_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_asyncscan IO workers are not available"),
				 errhint("Add pg_asyncscan to shared_preload_libraries and restart the server.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SpinLockAcquire(&worker_shared->mutex);
	for (int i = 0; i < worker_shared->nslots; i++)
		if (worker_shared->requests[i].state == REQ_RUNNING ||
			worker_shared->requests[i].state == REQ_ABANDONED)
			running++;
	for (int w = 0; w < MAX_IO_WORKERS; w++)
		if (worker_shared->worker_procno[w] >= 0)
			workers++;
	values[0] = Int32GetDatum(workers);
	values[1] = Int32GetDatum(worker_shared->nslots);
	values[2] = Int32GetDatum(worker_shared->nfree);
	values[3] = Int32GetDatum(worker_shared->queue_count);
	values[4] = Int32GetDatum(running);
	values[5] = Int32GetDatum(worker_shared->nowners);
	SpinLockRelease(&worker_shared->mutex);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
