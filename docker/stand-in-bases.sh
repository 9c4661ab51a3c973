#!/usr/bin/env bash
# Assembles, from Debian packages, the two base images the Dockerfile names by default from a
# registry, for machines that cannot reach one:
#   localhost/ccc-builder-base:25  Debian 12 (minbase) with gcc, libc6-dev, curl and this machine's JDK 25
#   localhost/ccc-runtime-base:12  a distroless-equivalent: glibc, CA certificates, time zone data,
#                                  passwd and group files, and nothing else (no shell, no package manager)
# Images that exist already are kept. Usage: docker/stand-in-bases.sh [JDK_HOME]   (as root; needs
# podman, debootstrap and apt-get)
set -euo pipefail
jdk=${1:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}}
podman=(podman --runtime /usr/sbin/runc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! "${podman[@]}" image exists localhost/ccc-builder-base:25; then
  root="$work/builder"
  debootstrap --variant=minbase --include=gcc,libc6-dev,curl,ca-certificates bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  # -L: a packaged JDK links some files (cacerts) to elsewhere on the host.
  cp -aL "$jdk" "$root/opt/jdk"
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  tar -C "$root" -c . | "${podman[@]}" import \
    --change 'ENV JAVA_HOME=/opt/jdk' \
    --change 'ENV PATH=/opt/jdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - localhost/ccc-builder-base:25 >/dev/null 2>&1
  echo "built localhost/ccc-builder-base:25"
fi

if ! "${podman[@]}" image exists localhost/ccc-runtime-base:12; then
  root="$work/runtime"
  mkdir -p "$root" "$work/debs"
  (cd "$work/debs" && apt-get download -q libc6 ca-certificates tzdata >/dev/null 2>&1)
  for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
  # ca-certificates builds its bundle in a maintainer script; do what it does.
  mkdir -p "$root/etc/ssl/certs"
  find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat >"$root/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$root/etc/group"
  mkdir -p "$root/tmp" "$root/root" "$root/home/nonroot"
  chmod 1777 "$root/tmp"
  rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian" "$root/usr/sbin" "$root/usr/bin" "$root/sbin" "$root/bin"
  tar -C "$root" -c . | "${podman[@]}" import - localhost/ccc-runtime-base:12 >/dev/null 2>&1
  echo "built localhost/ccc-runtime-base:12"
fi
