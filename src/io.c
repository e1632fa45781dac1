/*-------------------------------------------------------------------------
 *
 * io.c
 *	  Helpers shared by the IO methods.
 *
 * IDENTIFICATION
 *	  src/io.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pgstat.h"
#include "utils/wait_event.h"

#include "io.h"

/* what one mincore() vector entry stands for */
#define OS_PAGE		4096

/*
 * Read bytes *transferred .. length-1 of a range of fd into target,
 * retrying after short reads and EINTR.  Returns 0, or the errno of a
 * failed read; end of file leaves *transferred short of length.
 */
int
asyncscan_pread_rest(int fd, char *target, size_t length, off_t offset,
					 size_t *transferred)
{
	while (*transferred < length)
	{
		struct iovec iov;
		ssize_t		nread;

		iov.iov_base = target + *transferred;
		iov.iov_len = length - *transferred;

		pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_READ);
		nread = preadv(fd, &iov, 1, offset + (off_t) *transferred);
		pgstat_report_wait_end();

		if (nread < 0)
		{
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (nread == 0)
			break;
		*transferred += nread;
	}
	return 0;
}

/*
 * Tell the kernel a read through the page cache is coming, so that it
 * starts reading from the device now.  The sync method advises every read
 * of a batch before performing the first: the device then works on all of
 * them at once instead of one after the other (the worker method's workers
 * do the same for the reads queued behind the one they take).  Nothing to
 * do for O_DIRECT reads, which bypass the page cache.
 */
void
asyncscan_read_advise(AsyncScanRead *read)
{
#if defined(USE_POSIX_FADVISE) && defined(POSIX_FADV_WILLNEED)
	if (read->direct_fd < 0)
		(void) posix_fadvise(read->fd, read->offset, read->length,
							 POSIX_FADV_WILLNEED);
#endif
}

/*
 * Perform a read in the calling process: what the page cache holds
 * through it, the rest with O_DIRECT when the read has a direct_fd.
 */
void
asyncscan_read_sync(AsyncScanRead *read)
{
	int			fd = read->fd;

	if (read->direct_fd >= 0)
	{
		if (asyncscan_read_from_page_cache(read))
			return;
		fd = read->direct_fd;
	}

	read->error = asyncscan_pread_rest(fd, read->target, read->length,
									   read->offset, &read->transferred);
	if (read->error == 0 && read->transferred == read->length)
		read->state = ASYNCSCAN_READ_DONE;
	else
		read->state = ASYNCSCAN_READ_FAILED;
}

/*
 * How many OS pages from the start of the read the page cache holds, asked
 * with mincore() on the segment's read-only mapping; 0 when unknown.
 */
static size_t
resident_prefix_pages(AsyncScanRead *read)
{
	unsigned char vec[ASYNCSCAN_MAX_READ_BYTES / OS_PAGE];
	size_t		npages = read->length / OS_PAGE;
	size_t		resident = 0;

	Assert(read->length <= ASYNCSCAN_MAX_READ_BYTES);
	StaticAssertStmt(BLCKSZ % OS_PAGE == 0, "blocks are whole OS pages");

	if (read->residency == NULL)
		return 0;
	if (mincore(read->residency + read->offset, read->length, vec) != 0)
		return 0;
	while (resident < npages && (vec[resident] & 1) != 0)
		resident++;
	return resident;
}

/* Does the page cache hold all of the read? */
bool
asyncscan_read_is_cached(AsyncScanRead *read)
{
	return read->residency != NULL &&
		resident_prefix_pages(read) == read->length / OS_PAGE;
}

/*
 * For a read that has an O_DIRECT descriptor: copy the part that the page
 * cache holds right now (from the start of the read) through the page
 * cache, and leave the rest, from read->transferred on, to the caller's
 * O_DIRECT read.  Returns true if the copy completed the read.
 *
 * Residency is asked with mincore() on a read-only mapping of the segment
 * (read->residency), which neither blocks nor starts any IO.  (preadv2
 * with RWF_NOWAIT would not do: on a miss the kernel still starts
 * readahead into the page cache, which is what direct_io avoids.)  If
 * anything fails here, the O_DIRECT read does all the work.
 */
bool
asyncscan_read_from_page_cache(AsyncScanRead *read)
{
	size_t		resident;

	Assert(read->transferred == 0);

	if (read->direct_fd < 0)
		return false;
	/*
	 * Whole blocks only: a block must come from one read, taken at one
	 * time.  Half of it copied now and the other half read later could mix
	 * two versions of a page written in between, which no single read
	 * would return.
	 */
	resident = resident_prefix_pages(read) * OS_PAGE;
	resident -= resident % BLCKSZ;
	if (resident == 0)
		return false;

	/* an error or end of file here is met again by the O_DIRECT read */
	(void) asyncscan_pread_rest(read->fd, read->target, resident,
								read->offset, &read->transferred);

	/* the O_DIRECT read continues at a block boundary (so aligned) */
	read->transferred -= read->transferred % BLCKSZ;
	read->cached = read->transferred;

	if (read->transferred == read->length)
	{
		read->state = ASYNCSCAN_READ_DONE;
		return true;
	}
	return false;
}
