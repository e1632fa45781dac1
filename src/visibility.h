/*-------------------------------------------------------------------------
 *
 * visibility.h
 *	  Which tuples of a heap page a snapshot sees (visibility.c).
 *
 * IDENTIFICATION
 *	  src/visibility.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_VISIBILITY_H
#define ASYNCSCAN_VISIBILITY_H

#include "storage/off.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "stream.h"

/*
 * Fill offsets[] (MaxHeapTuplesPerPage entries) with the offsets of the
 * tuples of page that snapshot sees, and return how many there are.
 */
extern int	asyncscan_visible_tuples(Relation rel, Snapshot snapshot,
									 AsyncScanStream *stream,
									 AsyncScanPage *page,
									 OffsetNumber *offsets);

#endif							/* ASYNCSCAN_VISIBILITY_H */
