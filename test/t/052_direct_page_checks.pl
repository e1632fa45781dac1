
# Copyright (c) pg_asyncscan authors
#
# 052_direct_page_checks.pl
#	  What the direct path checks in a page it read itself, on a cluster
#	  without data checksums (so only these checks stand between a bad
#	  page and the executor).
#
#	1. direct_io takes whole blocks from one read: with the first 4 kB of
#	   block 0 in the page cache and the second 4 kB not, the block is not
#	   split between a copy from the page cache now and an O_DIRECT read
#	   later (a write in between would give a block no single read
#	   returns).  EXPLAIN's bytes from the page cache are whole blocks.
#	2. A corrupt all-visible page with more normal line pointers than a
#	   heap page holds (they would overrun the consumer's array of tuple
#	   offsets): never a crash; the direct copy is rejected and the
#	   buffered read raises an ERROR naming the block.
#	3. A corrupt page whose line pointers overlap, or point past the
#	   tuple area: the direct copy is rejected (counted as "bad page") and
#	   the block is read through shared buffers, which returns what a Seq
#	   Scan returns.  A sound page whose tuples do not descend in line
#	   pointer order (the check's slower path) is read directly.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest qw(init_preloaded io_analyze evict_files);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('page_checks');
# no data checksums: only the page checks stand guard
init_preloaded($node, '', checksums => 0);
$node->start;
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'off',
	'the cluster has no data checksums');

my $tools = PostgreSQL::Test::Utils::tempdir;
my $cache_range = "$tools/cache_range";
system_or_bail('cc', '-o', $cache_range, "$FindBin::Bin/../tools/cache_range.c");

my $io_analyze = io_analyze($node);
my @methods = ('sync');
push @methods, 'io_uring'
  if $node->psql('postgres',
	"LOAD 'pg_asyncscan'; SET pg_asyncscan.io_method = io_uring") == 0;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pg_asyncscan;
CREATE TABLE halves AS SELECT g AS id, md5(g::text) AS pad FROM generate_series(1, 20000) g;
-- three tuples of 2.2 kB per page: room below pd_upper for 300 line pointers
CREATE TABLE wide (id int, pad text) WITH (toast_tuple_target = 8160);
ALTER TABLE wide ALTER pad SET STORAGE PLAIN;
INSERT INTO wide SELECT g, repeat(chr(65 + g % 26), 2200) FROM generate_series(1, 60) g;
VACUUM (FREEZE, ANALYZE) halves, wide;
CHECKPOINT;
});
is($node->safe_psql('postgres',
		q{SELECT bool_and(relallvisible = relpages) FROM pg_class WHERE relname IN ('halves', 'wide')}),
	't', 'both tables are all-visible');

sub json_counter
{
	my ($json, $name) = @_;
	my ($v) = $json =~ /"\Q$name\E": (\d+)/;
	return $v // -1;
}

# --- 1. direct_io: whole blocks only ------------------------------------------
{
	my $file = $node->data_dir . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('halves')");
	my $query = 'SELECT count(*), sum(id), md5(string_agg(pad, \',\' ORDER BY id)) FROM halves';
	my $expected = $node->safe_psql('postgres', "SET pg_asyncscan.enabled = off; $query");
	foreach my $method (@methods)
	{
		$node->restart;    # block 0 is not in shared buffers
		system('sync');
		evict_files($file);
		my $map = `$cache_range $file 0 4096 0 8192`;
		chomp $map;
		is($map, '10', "$method: the page cache holds the first half of block 0 only");
		my $settings = "SET pg_asyncscan.io_method = $method; SET pg_asyncscan.direct_io = on;";
		my $json = $node->safe_psql('postgres',
			"$settings EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $query");
		like($json, qr/"Direct IO": true/, "$method: the scan used O_DIRECT");
		cmp_ok(json_counter($json, 'Pages Direct'), '>', 0, "$method: pages were read directly");
		my $cached = json_counter($json, 'Read Bytes From Page Cache');
		is($cached % 8192, 0,
			"$method: bytes from the page cache ($cached) are whole blocks");
		evict_files($file);
		system("$cache_range $file 0 4096 >/dev/null");
		$node->restart;
		is($node->safe_psql('postgres', "$settings $query"),
			$expected, "$method: rows as a Seq Scan gives them");
	}
}

# --- corrupt pages of wide, with the server stopped ---------------------------
my $wide_file = $node->data_dir . '/'
  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('wide')");
my $wide_query = 'SELECT count(*), sum(id), sum(length(pad)) FROM wide';
$node->stop;

sub read_block
{
	my ($blkno) = @_;
	open(my $fh, '+<', $wide_file) or die "open $wide_file: $!";
	binmode $fh;
	sysseek($fh, $blkno * 8192, 0) or die "seek: $!";
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "read: $!";
	close $fh;
	return $page;
}

sub write_block
{
	my ($blkno, $page) = @_;
	open(my $fh, '+<', $wide_file) or die "open $wide_file: $!";
	binmode $fh;
	sysseek($fh, $blkno * 8192, 0) or die "seek: $!";
	syswrite($fh, $page, 8192) == 8192 or die "write: $!";
	close $fh;
	return;
}

# line pointer $n (from 1) of a page, as (offset, flags, length)
sub get_lp
{
	my ($page, $n) = @_;
	my $v = unpack('V', substr($page, 24 + 4 * ($n - 1), 4));
	return ($v & 0x7fff, ($v >> 15) & 3, $v >> 17);
}

sub set_lp
{
	my ($page, $n, $off, $flags, $len) = @_;
	substr($$page, 24 + 4 * ($n - 1), 4) =
	  pack('V', ($off & 0x7fff) | (($flags & 3) << 15) | (($len & 0x7fff) << 17));
	return;
}

sub set_pd_lower
{
	my ($page, $lower) = @_;
	substr($$page, 12, 2) = pack('v', $lower);
	return;
}

# block 2: 300 normal line pointers, all to the first tuple
my $block2 = read_block(2);
{
	my $page = $block2;
	my ($off, $flags, $len) = get_lp($page, 1);
	is($flags, 1, 'block 2: line pointer 1 is a normal one');
	my ($upper) = unpack('v', substr($page, 14, 2));
	cmp_ok(24 + 4 * 300, '<=', $upper, 'block 2 has room for 300 line pointers');
	set_lp(\$page, $_, $off, 1, $len) for 1 .. 300;
	set_pd_lower(\$page, 24 + 4 * 300);
	write_block(2, $page);
}
$node->start;

# --- 2. more line pointers than a heap page holds -------------------------------
foreach my $method (@methods)
{
	$node->restart;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET pg_asyncscan.io_method = $method; $wide_query");
	isnt($rc, 0, "$method: the scan of a page with 300 line pointers fails");
	like($err, qr/ERROR:  invalid page in block 2 of relation "wide"/,
		"$method: with an ERROR naming the block");
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$method: the server is up");
}

# --- 3. overlapping tuples, a tuple past the tuple area -------------------------
# Both corruptions are ones a Seq Scan reads without harm (the tuples'
# headers are intact), so its result is the reference.  (An unaligned
# pointer is rejected by the same check, but would feed a Seq Scan a
# garbage tuple header.)
$node->stop;
write_block(2, $block2);
{
	# block 4: line pointer 2 is line pointer 1 again (the same tuple twice)
	my $page = read_block(4);
	my ($off, undef, $len) = get_lp($page, 1);
	set_lp(\$page, 2, $off, 1, $len);
	write_block(4, $page);

	# block 8: line pointer 1 reaches 16 bytes past the end of the page
	$page = read_block(8);
	($off, undef, $len) = get_lp($page, 1);
	set_lp(\$page, 1, $off, 1, 8192 - $off + 16);
	write_block(8, $page);

	# block 6, sound: line pointers 1 and 2 swapped, so its tuples no
	# longer descend in line pointer order, and none overlaps another
	$page = read_block(6);
	my @lp1 = get_lp($page, 1);
	my @lp2 = get_lp($page, 2);
	is($lp1[1] . $lp2[1], '11', 'block 6: line pointers 1 and 2 are normal ones');
	set_lp(\$page, 1, @lp2);
	set_lp(\$page, 2, @lp1);
	write_block(6, $page);
}
$node->start;
my $seqscan = $node->safe_psql('postgres', "SET pg_asyncscan.enabled = off; $wide_query");
foreach my $method (@methods)
{
	my $settings = "SET pg_asyncscan.io_method = $method;";
	$node->restart;
	my $json = $node->safe_psql('postgres',
		"$settings EXPLAIN ($io_analyze, COSTS OFF, TIMING OFF, FORMAT JSON) $wide_query");
	is(json_counter($json, 'Direct Rejected Bad Page'), 2,
		"$method: the direct copies of blocks 4 and 8 are rejected as bad pages (not block 6)");
	cmp_ok(json_counter($json, 'Pages Direct'), '>', 0,
		"$method: the other blocks are read directly");
	$node->restart;
	is($node->safe_psql('postgres', "$settings $wide_query"), $seqscan,
		"$method: AsyncSeqScan returns what a Seq Scan returns ($seqscan)");
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no process crashed');

$node->stop;
done_testing();
