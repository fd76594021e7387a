#!/usr/bin/env bash
# Run a command as on a machine with no font installed:
#   scripts/ci_no_fonts.sh COMMAND [ARG...]
# fontconfig gets an empty configuration (FONTCONFIG_FILE: no font folders),
# matplotlib a fresh cache folder (MPLCONFIGDIR) and ECOGIS_SYSTEM_FONTS=0
# (ecogis keeps only matplotlib's own DejaVu fonts and the bundled Noto Sans SC).
# As root, where a mount namespace can be made, the system font folders are
# also covered by empty tmpfs mounts, so nothing can read them at all.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/ci_no_fonts.sh COMMAND [ARG...]" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/fonts.conf" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig></fontconfig>
XML
mkdir -p "$tmp/mpl" "$tmp/cache"
export FONTCONFIG_FILE="$tmp/fonts.conf" MPLCONFIGDIR="$tmp/mpl" XDG_CACHE_HOME="$tmp/cache" ECOGIS_SYSTEM_FONTS=0

dirs=()
for d in /usr/share/fonts /usr/local/share/fonts "${HOME:-/root}/.fonts" "${HOME:-/root}/.local/share/fonts"; do
  [ -d "$d" ] && dirs+=("$d")
done
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
  echo "ci_no_fonts: empty fontconfig, ECOGIS_SYSTEM_FONTS=0, system font folders hidden: ${dirs[*]:-none}" >&2
  # shellcheck disable=SC2016
  ECOGIS_HIDE_DIRS="${dirs[*]:-}" unshare -m bash -c \
    'for d in $ECOGIS_HIDE_DIRS; do mount -t tmpfs none "$d"; done; unset ECOGIS_HIDE_DIRS; "$@"' bash "$@"
else
  echo "ci_no_fonts: empty fontconfig, ECOGIS_SYSTEM_FONTS=0 (no mount namespace here)" >&2
  "$@"
fi
