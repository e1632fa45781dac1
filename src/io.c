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

#include <sys/mman.h>
#include <unistd.h>

#include "io.h"

/* what one mincore() vector entry stands for */
#define OS_PAGE		4096

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
	unsigned char vec[ASYNCSCAN_MAX_READ_BYTES / OS_PAGE];
	size_t		npages;
	size_t		resident = 0;

	Assert(read->transferred == 0);
	Assert(read->length <= ASYNCSCAN_MAX_READ_BYTES);
	StaticAssertStmt(BLCKSZ % OS_PAGE == 0, "blocks are whole OS pages");

	if (read->direct_fd < 0 || read->residency == NULL)
		return false;

	npages = read->length / OS_PAGE;
	if (mincore(read->residency + read->offset, read->length, vec) != 0)
		return false;
	while (resident < npages && (vec[resident] & 1) != 0)
		resident++;
	if (resident == 0)
		return false;

	while (read->transferred < resident * OS_PAGE)
	{
		ssize_t		n;

		n = pread(read->fd, read->target + read->transferred,
				  resident * OS_PAGE - read->transferred,
				  read->offset + (off_t) read->transferred);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		read->transferred += n;
	}
	/* the O_DIRECT read continues at an aligned offset */
	read->transferred -= read->transferred % OS_PAGE;
	read->cached = read->transferred;

	if (read->transferred == read->length)
	{
		read->state = ASYNCSCAN_READ_DONE;
		return true;
	}
	return false;
}
