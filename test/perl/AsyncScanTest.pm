
# Copyright (c) pg_asyncscan authors
#
# AsyncScanTest.pm
#	  What several TAP tests of pg_asyncscan need, defined once.
#
#	use FindBin;
#	use lib "$FindBin::Bin/../perl";
#	use AsyncScanTest qw(io_analyze);
#
# io_analyze($node): the EXPLAIN options under which AsyncSeqScan shows its
# IO counters on $node's PostgreSQL: "ANALYZE" before 18; from 18 on our
# counters need the extension's own ASYNCIO option (registered through 18's
# extension EXPLAIN API), and BUFFERS OFF keeps 18's default buffer lines
# out of text output.  The regression tests' io_analyze() in sql/setup.sql
# is the same rule in SQL.

package AsyncScanTest;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(io_analyze);

sub io_analyze
{
	my ($node) = @_;
	return $node->pg_version >= 18
	  ? 'ANALYZE, ASYNCIO, BUFFERS OFF'
	  : 'ANALYZE';
}

1;
