# Sourced by the install, unit and man page tests: installs the build into a
# fresh DESTDIR ($PK_DESTDIR, removed on exit), as a package would.
#   install_tree BUILDDIR
# `meson install` of tests running side by side take turns (one lock), so
# their install logs do not mix.

install_tree() {
  local build=$1
  PK_DESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/pk-install.XXXXXX")
  trap 'rm -rf "$PK_DESTDIR"' EXIT
  (
    flock 9
    meson install -C "$build" --destdir "$PK_DESTDIR" --no-rebuild --quiet
  ) 9> "$build/meson-private/pk-install-tests.lock" || {
    echo "meson install into $PK_DESTDIR failed" >&2
    return 1
  }
}
