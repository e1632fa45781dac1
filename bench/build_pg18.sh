#!/bin/bash
# bench/build_pg18.sh -- build PostgreSQL 18 from Debian's source package,
# once, into a cache directory that later runs reuse.
#
#   bash bench/build_pg18.sh [CACHE_DIR]     (default /var/cache/pg_asyncscan-bench)
#
# Result: CACHE_DIR/pg18/bin/{postgres,initdb,pg_ctl,pgbench,psql} with
# contrib/pg_prewarm, built with --with-liburing, and the stamp file
# CACHE_DIR/pg18/.built (the source version and configure line).  When the
# stamp is present the script does nothing and exits 0.
#
# What it does the first time (root, Debian 12):
#   - adds /etc/apt/sources.list.d/pg_asyncscan-bench-unstable-src.sources,
#     a deb822 file with "Types: deb-src" ONLY for Debian unstable: source
#     packages can be fetched, no unstable binary package can ever be
#     installed from it;
#   - installs the few bookworm packages a minimal build needs (taken from
#     the Build-Depends of debian/control, without docs, LLVM, perl/python/
#     tcl, LDAP, GSSAPI, SELinux, systemd, ...);
#   - apt-get source postgresql-18 (no build-dep, no dpkg-buildpackage:
#     a plain ./configure && make -j$(nproc) && make install);
# It takes 4-10 minutes on 2 cores (10 when the machine is busy).

set -Eeuo pipefail

CACHE=${1:-${PG18_CACHE:-/var/cache/pg_asyncscan-bench}}
PREFIX=$CACHE/pg18
STAMP=$PREFIX/.built
SRCLIST=/etc/apt/sources.list.d/pg_asyncscan-bench-unstable-src.sources

log() { printf '==> [pg18] %s\n' "$*"; }
die() { printf 'ERROR: [pg18] %s\n' "$*" >&2; exit 1; }

if [ -f "$STAMP" ] && [ -x "$PREFIX/bin/postgres" ]; then
	log "cached: $PREFIX ($(head -n 1 "$STAMP"))"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get)"

# Packages for a minimal build with io_uring, ICU, readline, zlib, lz4
# (bookworm versions).  Build-Depends of postgresql-18 also lists docs,
# llvm, perl/python/tcl, gssapi, ldap, pam, selinux, systemd, xml, ...:
# not needed to run pgbench and the server.
PKGS=(build-essential bison flex pkg-config liburing-dev libreadline-dev
	zlib1g-dev libicu-dev liblz4-dev libssl-dev dpkg-dev)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

if [ ! -f "$SRCLIST" ]; then
	log "adding deb-src (sources only) for Debian unstable: $SRCLIST"
	cat >"$SRCLIST" <<'SRC'
# Added by pg_asyncscan bench/build_pg18.sh: SOURCE packages only (deb-src),
# used to fetch postgresql-18.  No unstable binary package is installed.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: unstable
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
log "apt-get update"
DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
if [ ${#missing[@]} -gt 0 ]; then
	log "installing build packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE/src"
cd "$CACHE/src"
if ! ls -d postgresql-18-*/ >/dev/null 2>&1; then
	log "apt-get source postgresql-18 (into $CACHE/src)"
	apt-get source -q --download-only postgresql-18 >/dev/null 2>&1 ||
		apt-get source -q --download-only postgresql-18
	dsc=$(ls postgresql-18_*.dsc | sort -V | tail -n 1)
	dpkg-source -x "$dsc" >/dev/null
fi
srcdir=$(ls -d postgresql-18-*/ | sort -V | tail -n 1)
srcdir=$CACHE/src/${srcdir%/}
version=$(cd "$srcdir" && dpkg-parsechangelog -S Version 2>/dev/null || basename "$srcdir")
log "source $srcdir (Debian $version)"

build=$CACHE/build
rm -rf "$build"
mkdir -p "$build"
cd "$build"
CONF=(--prefix="$PREFIX" --with-liburing --with-icu --with-lz4 --with-openssl
	--without-llvm --disable-nls)
log "configure ${CONF[*]}"
"$srcdir/configure" "${CONF[@]}" >configure.log 2>&1 ||
	{ tail -n 30 configure.log >&2; die "configure failed (log: $build/configure.log)"; }
log "make -j$(nproc) (4-10 minutes)"
t0=$(date +%s)
make -s -j"$(nproc)" >make.log 2>&1 ||
	{ tail -n 30 make.log >&2; die "make failed (log: $build/make.log)"; }
make -s -C contrib/pg_prewarm -j"$(nproc)" >>make.log 2>&1 ||
	die "make contrib/pg_prewarm failed"
make -s install >install.log 2>&1 || die "make install failed"
make -s -C contrib/pg_prewarm install >>install.log 2>&1 || die "install pg_prewarm failed"
grep -q '^#define USE_LIBURING 1' src/include/pg_config.h ||
	die "built without liburing support"
printf 'PostgreSQL %s (Debian source %s)\nconfigure %s\nbuilt %s in %ss\n' \
	"$("$PREFIX/bin/postgres" --version | awk '{print $3}')" "$version" \
	"${CONF[*]}" "$(date -u +%FT%TZ)" "$(($(date +%s) - t0))" >"$STAMP"
rm -rf "$build"
log "done: $PREFIX ($(head -n 1 "$STAMP"))"
