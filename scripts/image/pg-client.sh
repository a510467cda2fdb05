#!/bin/sh
# Runs inside the Dockerfile's `pgclient` stage: installs Debian's PostgreSQL client and copies
# pg_dump, pg_restore and psql with the shared libraries the base image lacks into OUT, so that
# the final stage gets them without apt, its package lists or Perl (postgresql-client-common's
# wrappers need Perl: about 50 MB the image does not need).
#   pg-client.sh MAJOR OUT
set -eu
major=$1
out=$2
bin=/usr/lib/postgresql/$major/bin

# Libraries the base already has; the final stage is built on the same base.
find / -xdev \( -name '*.so' -o -name '*.so.*' \) \( -type f -o -type l \) 2>/dev/null | sort > /tmp/libs-before

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "postgresql-client-$major" >/dev/null

mkdir -p "$out$bin" "$out/usr/local/bin" "$out/usr/share/doc/postgresql-client-$major"
for tool in pg_dump pg_restore psql; do
  cp -p "$bin/$tool" "$out$bin/"
  ln -s "$bin/$tool" "$out/usr/local/bin/$tool"
  ldd "$bin/$tool" | awk '/=> \//{print $3}'
done | while read -r lib; do
  # /lib is a symlink to /usr/lib (merged /usr): name every library by its real directory.
  echo "$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
done | sort -u | while read -r lib; do
  if ! grep -qxF "$lib" /tmp/libs-before; then
    # The library under the name the binary asks for, and the file it points to.
    mkdir -p "$out$(dirname "$lib")"
    cp -p "$(readlink -f "$lib")" "$out$(dirname "$lib")/"
    [ -L "$lib" ] && cp -P "$lib" "$out$lib"
    pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | cut -d: -f1 | head -n1)
    if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
      mkdir -p "$out/usr/share/doc/$pkg"
      cp "/usr/share/doc/$pkg/copyright" "$out/usr/share/doc/$pkg/"
    fi
  fi
done
cp "/usr/share/doc/postgresql-client-$major/copyright" "$out/usr/share/doc/postgresql-client-$major/"
