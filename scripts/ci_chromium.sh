#!/usr/bin/env bash
# Install a headless Chromium from the npm registry (no apt) into VENV/browser:
#   scripts/ci_chromium.sh VENV
# @sparticuz/chromium (pinned with its integrity in browser/package-lock.json)
# ships a brotli-compressed x86_64 Linux Chromium with the NSS libraries it
# needs; this unpacks it and writes VENV/browser/chromium, a wrapper that sets
# LD_LIBRARY_PATH and a fontconfig that has the bundled Noto Sans SC (and the
# system's fonts unless ECOGIS_SYSTEM_FONTS=0).  The browser tests find that
# wrapper when the system has no Chromium (or ECOGIS_SYSTEM_CHROMIUM=0).
# Used by `make install` only where no system Chromium exists; `make browser` forces it.
set -euo pipefail
venv="${1:?usage: scripts/ci_chromium.sh VENV}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mkdir -p "$venv/browser" && cd "$venv/browser" && pwd)"
venv_abs="$(cd "$venv" && pwd)"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "ci_chromium: @sparticuz/chromium ships an x86_64 Linux build only; browser tests will skip here" >&2
  exit 0
fi

cp "$repo/browser/package.json" "$repo/browser/package-lock.json" "$dir/"
npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error
bin="$dir/node_modules/@sparticuz/chromium/bin"
out="$dir/chromium-bin"
rm -rf "$out" && mkdir -p "$out/al2023"

# brotli-decompress with node's zlib (Node >= 11), then untar the library archives
node -e '
const fs = require("fs"), zlib = require("zlib"), { pipeline } = require("stream/promises");
const [bin, out] = process.argv.slice(1);
(async () => {
  for (const [src, dst] of [["chromium.br", "chromium"], ["al2023.tar.br", "al2023.tar"], ["swiftshader.tar.br", "swiftshader.tar"]]) {
    await pipeline(fs.createReadStream(`${bin}/${src}`), zlib.createBrotliDecompress(), fs.createWriteStream(`${out}/${dst}`));
  }
  fs.chmodSync(`${out}/chromium`, 0o755);
})().catch(e => { console.error(e); process.exit(1); });
' "$bin" "$out"
tar xf "$out/al2023.tar" -C "$out/al2023"
tar xf "$out/swiftshader.tar" -C "$out"
rm -f "$out/al2023.tar" "$out/swiftshader.tar" "$bin"/*.br

fonts_dir="$venv_abs/fonts/node_modules/@expo-google-fonts/noto-sans-sc"
for mode in system bundled; do
  {
    echo '<?xml version="1.0"?>'
    echo '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
    echo '<fontconfig>'
    echo "  <dir>$fonts_dir</dir>"
    [ "$mode" = system ] && echo '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
    echo "  <cachedir>$dir/fontconfig-cache</cachedir>"
    echo '</fontconfig>'
  } > "$dir/fonts-$mode.conf"
done

cat > "$dir/chromium" <<'SH'
#!/bin/sh
# Headless Chromium from @sparticuz/chromium (see scripts/ci_chromium.sh).
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="$here/chromium-bin/al2023/lib:$here/chromium-bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
case "${ECOGIS_SYSTEM_FONTS:-1}" in
  0|false|no|off) export FONTCONFIG_FILE="$here/fonts-bundled.conf" ;;
  *) export FONTCONFIG_FILE="$here/fonts-system.conf" ;;
esac
exec "$here/chromium-bin/chromium" "$@"
SH
chmod +x "$dir/chromium"
"$dir/chromium" --headless --no-sandbox --disable-gpu --version
