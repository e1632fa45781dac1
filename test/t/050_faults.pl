
# Copyright (c) pg_asyncscan authors
#
# 050_faults.pl
#	  Faults through the real kernel path, for every IO method (sync,
#	  io_uring, worker) with direct_io off and on: the read errors reach
#	  the scan from a FUSE file system (test/tools/slowfs.c) under a
#	  tablespace, through the page cache or O_DIRECT, exactly as failing
#	  storage would deliver them; the corrupted page lies in the segment
#	  file itself.
#
#	- EIO on one block (design.md section 5, README "IO methods"): the
#	  AsyncSeqScan fails with an ERROR naming the relation and a block
#	  range holding the bad block, the session goes on working, and
#	  pg_asyncscan_stats counts the error for the method.
#	- Short reads: the rest is read again, the scan completes and returns
#	  exactly what a Seq Scan returns.  With direct_io on, the O_DIRECT
#	  reads reach slowfs one to one and its short replies reach the scan.
#	  With direct_io off they would go through the page cache, where the
#	  kernel does not hand a short FUSE reply on as a short read: it takes
#	  it as the end of the file (zero-fills the page and shrinks its idea
#	  of the file's size, test/tools/README.md), and the scan meets a
#	  premature end of file, as a Seq Scan would.  So the direct_io off
#	  cases read a copy of the table on a second slowfs mount without page
#	  cache (test/tools/slowfs_uncached.c: every open is served with
#	  FOPEN_DIRECT_IO, as on network file systems): there the scan's plain
#	  reads get the short reads as they are.
#	- A corrupted page (data checksums): the direct copy is dropped and
#	  only the buffered read reports it, so the AsyncSeqScan raises the
#	  same ERROR (SQLSTATE and text) as a Seq Scan; with
#	  ignore_checksum_failure = on it returns what a Seq Scan returns.
#
# Each case starts with the relation's blocks out of shared buffers (and,
# for the slowfs cases, out of the OS page cache), so that they take the
# direct path and the faults reach the IO method under test.
#
# Without FUSE (see test/perl/SlowFS.pm) the whole file is skipped, with
# the reason; an IO method that cannot run here (io_uring refused) fails.
# The "reliability:" lines count only cases whose assertions all held.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use AsyncScanTest qw(init_preloaded query_with_stderr);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SlowFS;
use Test::More;
use Time::HiRes qw(time);

my $t_start = time();

my $why = SlowFS::missing_prerequisites();
plan skip_all => $why if defined $why;
my ($fs, $mount_why) = SlowFS->mount;
plan skip_all => "could not mount slowfs: $mount_why" unless $fs;
my $mnt = $fs->mountpoint;
# the second mount: no page cache (see above)
my ($fs_nc, $mount_nc_why) = SlowFS->mount(uncached => 1);
plan skip_all => "could not mount slowfs_uncached: $mount_nc_why"
  unless $fs_nc;
my $mnt_nc = $fs_nc->mountpoint;

my $node = PostgreSQL::Test::Cluster->new('faults050');
# the server has files open on the mount: stop it before unmounting
$fs->before_unmount(
	sub { $node->stop('immediate') if defined $node->{_pid}; });
$fs_nc->before_unmount(
	sub { $node->stop('immediate') if defined $node->{_pid}; });

init_preloaded($node, q{
shared_buffers = 32MB
});
$node->start;

# Every IO method must run here: one that this build or kernel does not
# offer fails the test (its cases below fail too) rather than being left
# out.
my @methods = ('sync', 'io_uring', 'worker');
foreach my $m (@methods)
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"LOAD 'pg_asyncscan'; SET pg_asyncscan.io_method = '$m'");
	$err =~ s/\s+/ /g;
	is($rc, 0, "io_method $m is available here") or diag($err);
}
my @cases;
foreach my $m (@methods)
{
	push @cases, map { [ $m, $_ ] } ('off', 'on');
}

# --- tables ----------------------------------------------------------------
# f: on slowfs (EIO, short reads with direct_io on); fnc: the same rows on
# the slowfs mount without page cache (short reads with direct_io off);
# cs_<method>_<direct_io>_{err,ign}: in the default tablespace, one per
# case and mode, each with block 20 corrupted below.
mkdir "$mnt/ts" or die "mkdir $mnt/ts: $!";
mkdir "$mnt_nc/ts" or die "mkdir $mnt_nc/ts: $!";
my $setup = qq{
CREATE EXTENSION pg_asyncscan;
CREATE TABLESPACE slow LOCATION '$mnt/ts';
CREATE TABLESPACE slow_nc LOCATION '$mnt_nc/ts';
CREATE TABLE f (id int NOT NULL, pad text NOT NULL) TABLESPACE slow;
INSERT INTO f SELECT i, repeat(md5(i::text), 6) FROM generate_series(1, 20000) i;
CREATE TABLE fnc TABLESPACE slow_nc AS SELECT * FROM f;
CREATE TABLE local_t AS SELECT i AS id FROM generate_series(1, 1000) i;
CREATE TABLE cs_proto (id int NOT NULL, pad text NOT NULL);
INSERT INTO cs_proto SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 3000) i;
CREATE FUNCTION explain_json(q text) RETURNS jsonb
LANGUAGE plpgsql AS \$f\$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || q INTO plan;
	RETURN plan::jsonb;
END \$f\$;
};
my @cs_tables;
foreach my $c (@cases)
{
	foreach my $mode ('err', 'ign')
	{
		my $t = "cs_$c->[0]_$c->[1]_$mode";
		push @cs_tables, $t;
		$setup .= "CREATE TABLE $t AS SELECT * FROM cs_proto;\n";
	}
}
$setup .= "VACUUM (FREEZE, ANALYZE);\nCHECKPOINT;\n";
$node->safe_psql('postgres', $setup);

my (%suffix, %file);
foreach my $t ('f', 'fnc')
{
	my $relpath =
	  $node->safe_psql('postgres', "SELECT pg_relation_filepath('$t')");
	like($relpath, qr{^pg_tblspc/\d+/PG_\d+_\d+/\d+/\d+$},
		"table $t is in a tablespace on slowfs ($relpath)");
	($suffix{$t}) = $relpath =~ m{(\d+/\d+)$};
	$file{$t} = $node->data_dir . "/$relpath";
	my $nblocks =
	  $node->safe_psql('postgres', "SELECT pg_relation_size('$t') / 8192");
	cmp_ok($nblocks, '>', 500, "table $t has $nblocks blocks");
}
# the mount without page cache passes every plain read on to slowfs
{
	my $before = $fs_nc->counter('reads');
	open(my $fh, '<', $file{fnc}) or die "could not open $file{fnc}: $!";
	foreach my $i (1 .. 2)
	{
		my $buf;
		sysseek($fh, 0, 0) or die "could not seek in $file{fnc}: $!";
		sysread($fh, $buf, 8192) == 8192 or die "could not read $file{fnc}: $!";
	}
	close $fh;
	is($fs_nc->counter('reads') - $before,
		2, 'slowfs_uncached: two plain 8 kB reads of one block are two read requests');
}
# VACUUM sets a block all-visible only when no snapshot anywhere may still
# need an older state of it (a concurrent snapshot, e.g. of a background
# process, can keep some bits unset): vacuum again what is not, a few times
my $not_all_visible = q{SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
	WHERE (relname IN ('f', 'fnc') OR relname LIKE 'cs\_%') AND relallvisible <> relpages};
foreach my $try (1 .. 5)
{
	my $left = $node->safe_psql('postgres', $not_all_visible);
	last if $left eq '';
	note "not all-visible yet: $left";
	sleep 1;
	$node->safe_psql('postgres', join('', map { "VACUUM (FREEZE) $_;\n" } split / /, $left));
}
is($node->safe_psql('postgres', $not_all_visible), '', 'every test table is all-visible');

sub result_query
{
	my ($rel) = @_;
	return "SELECT count(*), sum(id), md5(string_agg(id || ':' || pad, ',' ORDER BY id, pad)) FROM $rel";
}
my $f_query = result_query('f');
my $f_expected = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; $f_query");
like($f_expected, qr/^20000\|200010000\|[0-9a-f]{32}$/, 'Seq Scan reference result of f');
is( $node->safe_psql(
		'postgres', "SET pg_asyncscan.enabled = off; " . result_query('fnc')),
	$f_expected,
	'Seq Scan of fnc: the same rows');
my $cs_pristine = $node->safe_psql('postgres',
	"SET pg_asyncscan.enabled = off; " . result_query('cs_proto'));

# --- corrupt block 20 of every cs_ table, with the server stopped -----------
# (the restart also empties shared buffers: every block of every table
# below is read directly, where the rules let it).  The tuples are 128
# bytes long, so offset 4136 of the block is in the "pad" text of a tuple:
# the corrupted bytes are in what the query returns.
my $corrupt_block = 20;
my $corrupt_offset = 4136;
my %cs_path;
foreach my $t (@cs_tables)
{
	$cs_path{$t} = $node->safe_psql('postgres', "SELECT pg_relation_filepath('$t')");
	my $n = $node->safe_psql('postgres', "SELECT pg_relation_size('$t') / 8192");
	die "$t has only $n blocks" if $n <= $corrupt_block + 1;
}
$node->stop;
foreach my $t (@cs_tables)
{
	my $file = $node->data_dir . '/' . $cs_path{$t};
	open my $fh, '+<', $file or die "could not open $file: $!";
	binmode $fh;
	sysseek($fh, $corrupt_block * 8192 + $corrupt_offset, 0)
	  or die "could not seek in $file: $!";
	syswrite($fh, 'CORRUPTED') == 9 or die "could not write $file: $!";
	close $fh;
}
$node->start;

# --- one session for everything: it must survive every ERROR ------------------
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe('\set VERBOSITY verbose');

sub run_error
{
	return query_with_stderr($s, @_);
}

sub stats
{
	my ($m) = @_;
	my @v = split /\|/,
	  $s->query_safe(
		"SELECT scans, pages_direct, errors, direct_rejected FROM pg_asyncscan_stats WHERE io_method = '$m'"
	  );
	return { scans => $v[0], pages_direct => $v[1], errors => $v[2], direct_rejected => $v[3] };
}

# Is the result query's scan of $rel an AsyncSeqScan (in this session's
# settings)?
sub plan_is_async
{
	my ($rel) = @_;
	my $q = result_query($rel);
	return $s->query_safe(
		"SELECT jsonb_path_exists(explain_json(\$q\$$q\$q\$),
		 'strict \$.** ? (\@.\"Custom Plan Provider\" == \"AsyncSeqScan\" && \@.\"Relation Name\" == \"$rel\")')"
	) eq 't';
}

sub usable
{
	my ($name) = @_;
	is($s->query_safe('SELECT count(*), sum(id) FROM local_t'),
		'1000|500500', "$name: the session goes on working");
}

# --- 1. EIO on one block ---------------------------------------------------------
my $bad_block = 300;
my ($eio_cases, $eio_faults) = (0, 0);
$fs->ctl("eio add $suffix{f} " . ($bad_block * 8192) . ' 8192');
foreach my $c (@cases)
{
	my ($m, $dio) = @$c;
	my $name = "EIO, $m, direct_io $dio";
	SlowFS::drop_page_cache($file{f});
	$s->query_safe("SET pg_asyncscan.io_method = '$m'; SET pg_asyncscan.direct_io = $dio");
	my $before = stats($m);
	my $inj = $fs->counter('eio_injected');
	my ($out, $err) = run_error($f_query);
	my $n = $fs->counter('eio_injected') - $inj;
	my $after = stats($m);
	note "$name: slowfs injected EIO $n times";
	my $ok = cmp_ok($n, '>', 0, "$name: slowfs injected EIO");
	$ok &= is($out, '', "$name: no result");
	$ok &= like(
		$err,
		qr/ERROR:  58030: could not read blocks \d+\.\.\d+ of relation "f": Input\/output error/,
		"$name: ERROR with SQLSTATE 58030 names the relation");
	my ($first, $last) = $err =~ /could not read blocks (\d+)\.\.(\d+) of relation "f"/;
	$ok &= ok( defined $first && $first <= $bad_block && $bad_block <= $last,
		"$name: the block range ("
		  . ($first // '?') . '..'
		  . ($last // '?')
		  . ") holds block $bad_block");
	$ok &= like($err, qr/DETAIL:  The read was issued by pg_asyncscan.io_method "$m"\./,
		"$name: DETAIL names the method");
	$ok &= usable($name);
	$ok &= is($after->{scans} - $before->{scans}, 1, "$name: pg_asyncscan_stats counts the scan for $m");
	$ok &= cmp_ok($after->{pages_direct} - $before->{pages_direct}, '>', 0,
		"$name: blocks before the bad one were read directly");
	$ok &= cmp_ok($after->{errors} - $before->{errors}, '>=', 1,
		"$name: pg_asyncscan_stats counts the error for $m");
	# counted only when every assertion of the case held
	if ($ok)
	{
		$eio_cases++;
		$eio_faults += $n;
	}
}
$fs->ctl('clear');

# --- 2. short reads --------------------------------------------------------------
# A read covering the start of block 300 returns only its first 4 kB (cut
# in the middle of a block); a read covering the start of block 400 ends
# with block 400 (cut at a block boundary).  The retries start past the
# rules' offsets, so they are whole.
my ($short_cases, $short_faults, $short_rows) = (0, 0, 0);
foreach my $t ([ $fs, 'f' ], [ $fs_nc, 'fnc' ])
{
	my ($sfs, $rel) = @$t;
	$sfs->ctl("short add $suffix{$rel} " . (300 * 8192) . ' 4096');
	$sfs->ctl("short add $suffix{$rel} " . (400 * 8192) . ' 8192');
}
foreach my $c (@cases)
{
	my ($m, $dio) = @$c;
	# direct_io off: the mount without page cache (see the header)
	my ($sfs, $rel) = $dio eq 'on' ? ($fs, 'f') : ($fs_nc, 'fnc');
	my $name = "short reads, $m, direct_io $dio ($rel)";
	SlowFS::drop_page_cache($file{$rel});
	$s->query_safe("SET pg_asyncscan.io_method = '$m'; SET pg_asyncscan.direct_io = $dio");
	my $ok = ok(plan_is_async($rel), "$name: the plan is an AsyncSeqScan");
	my $before = stats($m);
	my $inj = $sfs->counter('short_injected');
	my ($out, $err) = run_error(result_query($rel));
	my $n = $sfs->counter('short_injected') - $inj;
	my $after = stats($m);
	note "$name: slowfs injected $n short reads";
	$ok &= cmp_ok($n, '>', 0, "$name: slowfs injected short reads");
	$ok &= is($err, '', "$name: no error or warning");
	$ok &= is($out, $f_expected, "$name: the same rows as the Seq Scan");
	$ok &= is($after->{scans} - $before->{scans}, 1, "$name: an AsyncSeqScan with $m ran");
	$ok &= cmp_ok($after->{pages_direct} - $before->{pages_direct}, '>', 0,
		"$name: blocks were read directly");
	# counted only when every assertion of the case held
	if ($ok)
	{
		$short_cases++;
		$short_faults += $n;
		$short_rows += ($out =~ /^(\d+)\|/)[0];
	}
}
# The short reads really reach the reader through the kernel: before
# PostgreSQL 17 its own reads (8 kB, no retry) fail on them; from 17 on it
# retries them too.  (Last: a failed read leaves block 300 of fnc behind
# in shared buffers.)
{
	my $inj = $fs_nc->counter('short_injected');
	my ($out, $err) = run_error(
		'SET pg_asyncscan.enabled = off; ' . result_query('fnc'));
	$s->query_safe('RESET pg_asyncscan.enabled');
	cmp_ok($fs_nc->counter('short_injected') - $inj,
		'>', 0, 'a Seq Scan of fnc: slowfs injected short reads');
	if ($node->safe_psql('postgres', 'SHOW server_version_num') < 170000)
	{
		like(
			$err,
			qr/ERROR:  XX001: could not read block 300 in file ".*": read only 4096 of 8192 bytes/,
			'a Seq Scan of fnc meets the short read at block 300 (no retry before PostgreSQL 17)'
		);
	}
	else
	{
		# 17 retries short reads; 18's AIO may still give up on a reply
		# slowfs cuts again: either way a Seq Scan never returns wrong rows
		ok( $out eq $f_expected
			  || $err =~ /ERROR:  XX001: could not read blocks? 300(\.\.\d+)? in file ".*": read only \d+ of \d+ bytes/,
			'a Seq Scan of fnc retries the short reads, or fails on them; never wrong rows'
		) or diag("out: $out\nerr: $err");
	}
}
$fs->ctl('clear');
$fs_nc->ctl('clear');

# --- 3. a corrupted page -----------------------------------------------------------
my ($cs_cases, $cs_rows) = (0, 0);
foreach my $c (@cases)
{
	my ($m, $dio) = @$c;
	my $name = "corrupted page, $m, direct_io $dio";
	my $t_err = "cs_${m}_${dio}_err";
	my $t_ign = "cs_${m}_${dio}_ign";
	$s->query_safe("SET pg_asyncscan.io_method = '$m'; SET pg_asyncscan.direct_io = $dio");

	my $ok = ok(plan_is_async($t_err) && plan_is_async($t_ign),
		"$name: the plans are AsyncSeqScans");

	# the ERROR
	my $before = stats($m);
	my ($out_a, $err_a) = run_error('SET pg_asyncscan.enabled = on; ' . result_query($t_err));
	my $after = stats($m);
	my ($out_s, $err_s) = run_error('SET pg_asyncscan.enabled = off; ' . result_query($t_err));
	$s->query_safe('RESET pg_asyncscan.enabled');
	$ok &= like($err_s, qr/ERROR:  XX001: invalid page in block $corrupt_block of relation /,
		"$name: the Seq Scan fails on the corrupted block");
	# (psql prefixes the messages with "psql:<stdin>:LINE: ")
	my ($e_a) = $err_a =~ /^(?:psql:\S+ )?(ERROR:  .*)$/m;
	my ($e_s) = $err_s =~ /^(?:psql:\S+ )?(ERROR:  .*)$/m;
	$ok &= ok(defined $e_a, "$name: the AsyncSeqScan fails");
	$ok &= is($e_a, $e_s, "$name: the AsyncSeqScan raises the same ERROR (SQLSTATE and text)");
	$ok &= is($out_a, '', "$name: the AsyncSeqScan returned no result");
	my @w_a = $err_a =~ /^(?:psql:\S+ )?(WARNING:  .*)$/mg;
	my @w_s = $err_s =~ /^(?:psql:\S+ )?(WARNING:  .*)$/mg;
	$ok &= is_deeply(\@w_a, \@w_s, "$name: and the same WARNINGs (" . scalar(@w_s) . ')');
	$ok &= is($after->{scans} - $before->{scans}, 1, "$name: an AsyncSeqScan with $m ran");
	$ok &= is($after->{direct_rejected} - $before->{direct_rejected}, 1,
		"$name: the corrupted block was read directly, and its copy dropped");
	$ok &= usable($name);

	# ignore_checksum_failure = on
	$s->query_safe('SET ignore_checksum_failure = on');
	$before = stats($m);
	($out_a, $err_a) = run_error('SET pg_asyncscan.enabled = on; ' . result_query($t_ign));
	$after = stats($m);
	($out_s, $err_s) = run_error('SET pg_asyncscan.enabled = off; ' . result_query($t_ign));
	$s->query_safe('RESET pg_asyncscan.enabled; RESET ignore_checksum_failure');
	$ok &= unlike($err_a, qr/ERROR/, "$name, ignore_checksum_failure: the AsyncSeqScan completes");
	$ok &= like($out_s, qr/^\d+\|\d+\|[0-9a-f]{32}$/, "$name, ignore_checksum_failure: the Seq Scan completes");
	$ok &= isnt($out_s, $cs_pristine,
		"$name, ignore_checksum_failure: the Seq Scan returns the corrupted bytes");
	$ok &= is($out_a, $out_s,
		"$name, ignore_checksum_failure: the AsyncSeqScan returns what the Seq Scan returns");
	$ok &= is($after->{scans} - $before->{scans}, 1, "$name, ignore_checksum_failure: an AsyncSeqScan with $m ran");
	$ok &= is($after->{direct_rejected} - $before->{direct_rejected}, 1,
		"$name, ignore_checksum_failure: the corrupted block was read directly, and its copy dropped");
	$ok &= cmp_ok($after->{pages_direct} - $before->{pages_direct}, '>', 0,
		"$name, ignore_checksum_failure: the other blocks were read directly");
	# counted only when every assertion of the case held
	if ($ok)
	{
		$cs_cases++;
		$cs_rows += ($out_a =~ /^(\d+)\|/)[0];
	}
}

$s->quit;
$node->stop;
# (TRAP, a failed assertion, can only appear on an assertion-enabled
# server: PostgreSQL 18 as test/build_pg.sh builds it; Debian's 15 has none)
my $log = slurp_file($node->logfile);
unlike($log, qr/TRAP|PANIC|terminated by signal|was terminated by/,
	'no crash, assertion failure or PANIC in the server log');

diag("reliability: EIO gives ERROR naming relation and block: cases=$eio_cases faults=$eio_faults");
diag("reliability: short reads completed, results equal: cases=$short_cases faults=$short_faults rows=$short_rows");
diag("reliability: corrupted page same checksum ERROR as Seq Scan: cases=$cs_cases rows=$cs_rows");
note sprintf('050_faults.pl took %.1f s', time() - $t_start);

done_testing();
