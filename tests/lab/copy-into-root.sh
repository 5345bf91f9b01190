# shellcheck shell=bash
# Sourced by the image builders. Copies host files into a guest root folder,
# keeping their host paths, so the guest (same Debian release as the host)
# runs the host's binaries unchanged.
#
# The guest root uses the merged-/usr layout of Debian 12 (bin -> usr/bin,
# lib -> usr/lib, ...) so every path ldd prints lands where the dynamic
# loader in the guest will look for it.

# make_root DIR: an empty guest root with the merged-/usr symlinks.
make_root() {
  local root=$1 d
  rm -rf "$root"
  mkdir -p "$root"/usr/{bin,sbin,lib,lib64}
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
}

# add_path ROOT PATH: copy PATH, following its symlink chain, so that both
# the link names and the final file exist in the guest.
add_path() {
  local root=$1 p=$2 t
  while :; do
    if [[ ! -e $root$p && ! -L $root$p ]]; then
      mkdir -p "$root$(dirname "$p")"
      cp -a "$p" "$root$p"
    fi
    [[ -L $p ]] || return 0
    t=$(readlink "$p")
    [[ $t == /* ]] || t=$(dirname "$p")/$t
    p=$t
  done
}

# add_bin ROOT FILE...: copy executables or shared objects with every library
# ldd lists (ldd resolves the whole tree, including indirect dependencies).
add_bin() {
  local root=$1 f lib
  shift
  for f in "$@"; do
    [[ -e $f ]] || { echo "add_bin: $f not found on the host" >&2; return 1; }
    add_path "$root" "$f"
    # ldd lines: "libx.so.1 => /path (addr)", "/lib64/ld-linux... (addr)",
    # "linux-vdso.so.1 (addr)"; keep every absolute path.
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
      add_path "$root" "$lib"
    done
  done
}

# pack_root ROOT OUT: a newc cpio archive (what the kernel unpacks as
# initramfs), compressed with a fast gzip level: boot time matters more than
# a few MB.
pack_root() {
  local root=$1 out=$2
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
    | gzip -1 > "$out.tmp"
  mv "$out.tmp" "$out"
}
