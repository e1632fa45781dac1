
# Copyright (c) pg_asyncscan authors
#
# SlowFS.pm
#	  Build, mount, control and unmount slowfs (test/tools/slowfs.c, the
#	  fault-injecting FUSE passthrough file system) for the TAP tests that
#	  put a tablespace on it (021_worker_faults.pl, 050_faults.pl), so that
#	  they share one copy of this code.
#
#	  use FindBin;
#	  use lib "$FindBin::Bin/../perl";
#	  use SlowFS;
#
#	  my $why = SlowFS::missing_prerequisites();
#	  plan skip_all => $why if defined $why;
#	  my ($fs, $why) = SlowFS->mount;	# builds slowfs, mounts it
#	  (SlowFS->mount(uncached => 1): no page cache, test/tools/slowfs_uncached.c)
#	  plan skip_all => "could not mount slowfs: $why" unless $fs;
#	  $fs->before_unmount(sub { $node->stop('immediate') ... });
#	  mkdir $fs->mountpoint . '/ts';		# CREATE TABLESPACE ... LOCATION
#	  $fs->ctl('eio add 5/16385 81920 8192');	# see test/tools/README.md
#	  $fs->counter('eio_injected');
#	  SlowFS::drop_page_cache($file);	# let the next read reach slowfs
#
# Every mount is unmounted when the test ends (first the callbacks given to
# before_unmount run: a server with files open on the mount must be stopped
# before), whatever happened.  A slowfs that cannot be built is a broken
# tree (BAIL_OUT); a mount that fails (no FUSE in a container) is a reason
# to skip.
#
# IDENTIFICATION
#	  test/perl/SlowFS.pm
#

package SlowFS;

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

# mounts not yet unmounted, for the END block
my @mounted;

# the slowfs binaries, built once per test: slowfs, slowfs_uncached
my %binary;

sub have_command
{
	my ($cmd) = @_;
	return system("command -v $cmd >/dev/null 2>&1") == 0;
}

# Why slowfs cannot run here, or undef if it can.
sub missing_prerequisites
{
	foreach my $cmd (qw(fusermount3 pkg-config cc mountpoint dd))
	{
		return "slowfs tests need $cmd (packages fuse3, pkg-config, gcc, coreutils)"
		  unless have_command($cmd);
	}
	return 'slowfs tests need libfuse3-dev (pkg-config fuse3 not found)'
	  unless system('pkg-config --exists fuse3') == 0;
	return
	  'slowfs tests need read/write access to /dev/fuse for this user (as root: chmod 666 /dev/fuse)'
	  unless -c '/dev/fuse' && -r '/dev/fuse' && -w '/dev/fuse';
	return undef;
}

# Build slowfs into a temporary directory and mount an empty source
# directory with it.  Returns ($fs) or (undef, reason).  Options: args
# (extra slowfs arguments, e.g. ['--read-latency-us=1000']); uncached => 1
# (test/tools/slowfs_uncached.c: no page cache for plain reads either, so
# that they get short replies as short reads).
sub mount
{
	my ($class, %opts) = @_;
	my $work = PostgreSQL::Test::Utils::tempdir;
	my $prog = $opts{uncached} ? 'slowfs_uncached' : 'slowfs';
	unless (defined $binary{$prog})
	{
		my $source =
		  File::Spec->rel2abs(dirname(__FILE__) . "/../tools/$prog.c");
		my $cflags = `pkg-config --cflags fuse3`;
		my $libs = `pkg-config --libs fuse3`;
		chomp($cflags, $libs);
		system("cc -O2 -Wall -Wextra -Werror $cflags -o $work/$prog $source $libs -lpthread")
		  == 0
		  or BAIL_OUT("could not build $source");
		$binary{$prog} = "$work/$prog";
	}
	my $bin = $binary{$prog};

	my $self = bless {
		work => $work,
		src => "$work/src",
		mnt => "$work/mnt",
		log => "$work/slowfs.log",
		before_unmount => [],
	}, $class;
	mkdir $self->{src} or die "mkdir $self->{src}: $!";
	mkdir $self->{mnt} or die "mkdir $self->{mnt}: $!";
	$self->{control} = "$self->{mnt}/.slowfs_control";
	$self->{h} = IPC::Run::start(
		[ $bin, '-f', @{ $opts{args} // [] }, $self->{src}, $self->{mnt} ],
		'<', \undef, '>', $self->{log}, '2>>', $self->{log});
	foreach my $i (1 .. 100)
	{
		if (system('mountpoint', '-q', $self->{mnt}) == 0)
		{
			push @mounted, $self;
			return ($self);
		}
		last unless $self->{h}->pumpable;
		usleep(100_000);
	}
	eval { $self->{h}->kill_kill; };
	my $why = -s $self->{log} ? slurp_file($self->{log}) : 'no message';
	$why =~ s/\s+/ /g;
	return (undef, "slowfs did not mount (no FUSE in this environment?): $why");
}

sub mountpoint
{
	my ($self) = @_;
	return $self->{mnt};
}

# Run this (e.g. stop the server using the mount) before unmounting.
sub before_unmount
{
	my ($self, $sub) = @_;
	push @{ $self->{before_unmount} }, $sub;
	return;
}

# Send a command to slowfs (see test/tools/README.md, "Runtime control");
# dies if slowfs refuses it.
sub ctl
{
	my ($self, $cmd) = @_;
	my $control = $self->{control};
	open(my $fh, '>', $control) or die "cannot open $control: $!";
	print $fh "$cmd\n" or die "cannot write to $control: $!";
	close($fh) or die "slowfs refused \"$cmd\": $!";
	return;
}

# A counter of slowfs: reads, read_bytes, writes, write_bytes,
# eio_injected, short_injected.
sub counter
{
	my ($self, $name) = @_;
	my ($n) = slurp_file($self->{control}) =~ /\b$name (\d+)/;
	die "slowfs shows no counter \"$name\"" unless defined $n;
	return $n;
}

# Drop a file's pages from the OS page cache (through the mount), so that
# the next reads of it reach slowfs.  Its dirty pages are written first.
sub drop_page_cache
{
	my ($file) = @_;
	system('sync', $file) == 0 or die "could not sync $file";
	system('dd', "if=$file", 'iflag=nocache', 'count=0', 'status=none') == 0
	  or die "could not drop $file from the page cache";
	return;
}

sub unmount
{
	my ($self) = @_;
	return unless grep { $_ == $self } @mounted;
	@mounted = grep { $_ != $self } @mounted;
	foreach my $sub (@{ $self->{before_unmount} })
	{
		eval { $sub->(); };
		diag("before unmounting slowfs: $@") if $@;
	}
	system('fusermount3', '-u', $self->{mnt}) == 0
	  or system('fusermount3', '-uz', $self->{mnt});
	eval { $self->{h}->finish; };
	return;
}

END
{
	# keep the test's exit status: system() sets $?
	local $?;
	my @all = reverse @mounted;
	$_->unmount foreach @all;
}

1;
