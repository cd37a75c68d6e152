#!/usr/bin/env bash
# Install the SemEdit bundle with its desktop entry, icons, AppStream metainfo and the
# application/x-semedit MIME type (so .semedit projects open by double-click).
#
#   install.sh [--prefix PREFIX] [--bundle DIR] [--uninstall]
#
# PREFIX defaults to ~/.local (a per-user install; use /usr/local as root for everyone).
# DIR is the one-folder bundle: by default the folder this script sits in when it was
# copied into the bundle (dist/semedit/install.sh), else dist/semedit of the checkout.
#   PREFIX/lib/semedit/                      the bundle
#   PREFIX/bin/semedit                       a link to PREFIX/lib/semedit/semedit
#   PREFIX/share/applications/semedit.desktop
#   PREFIX/share/metainfo/io.github.semedit.SemEdit.metainfo.xml
#   PREFIX/share/mime/packages/semedit.xml
#   PREFIX/share/icons/hicolor/NxN/{apps/semedit,mimetypes/application-x-semedit}.png
# update-desktop-database, update-mime-database and gtk-update-icon-cache run if present.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prefix="$HOME/.local"
bundle=""
uninstall=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --bundle) bundle=$2; shift 2 ;;
    --bundle=*) bundle=${1#*=}; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
share="$prefix/share"
appdir="$prefix/lib/semedit"
sizes=(16 32 48 64 128 256 512)

refresh() {
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$share/applications" || true
  fi
  if command -v update-mime-database >/dev/null 2>&1; then
    update-mime-database "$share/mime" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [[ -f $share/icons/hicolor/index.theme ]]; then
    gtk-update-icon-cache -q -t -f "$share/icons/hicolor" || true
  fi
  if command -v xdg-icon-resource >/dev/null 2>&1; then
    xdg-icon-resource forceupdate --mode user >/dev/null 2>&1 || true
  fi
}

if [[ $uninstall == 1 ]]; then
  rm -rf "$appdir"
  rm -f "$prefix/bin/semedit" "$share/applications/semedit.desktop" \
    "$share/metainfo/io.github.semedit.SemEdit.metainfo.xml" "$share/mime/packages/semedit.xml"
  for n in "${sizes[@]}"; do
    rm -f "$share/icons/hicolor/${n}x${n}/apps/semedit.png" \
      "$share/icons/hicolor/${n}x${n}/mimetypes/application-x-semedit.png"
  done
  refresh
  echo "SemEdit removed from $prefix"
  exit 0
fi

if [[ -z $bundle ]]; then
  if [[ -x $here/semedit && -d $here/_internal ]]; then
    bundle=$here
  else
    bundle="$here/../../dist/semedit"
  fi
fi
if [[ ! -x $bundle/semedit || ! -d $bundle/_internal ]]; then
  echo "install.sh: no SemEdit bundle at $bundle (build it with packaging/build.sh)" >&2
  exit 1
fi
bundle=$(cd "$bundle" && pwd)
# The desktop files: next to this script in a checkout, in the bundle otherwise.
if [[ -f $here/semedit.desktop ]]; then
  data=$here
else
  data="$bundle/_internal/linux"
fi
icons="$bundle/_internal/core/resources/icons"

echo "installing SemEdit into $prefix"
if [[ $bundle != "$appdir" ]]; then
  rm -rf "$appdir.new"
  mkdir -p "$prefix/lib"
  cp -a "$bundle" "$appdir.new"
  rm -rf "$appdir"
  mv "$appdir.new" "$appdir"
fi
mkdir -p "$prefix/bin" "$share/applications" "$share/metainfo" "$share/mime/packages"
ln -sfn "$appdir/semedit" "$prefix/bin/semedit"

# Exec/TryExec name the installed binary, so the entry works without PREFIX/bin on PATH.
sed -e "s|^Exec=semedit|Exec=$prefix/bin/semedit|" -e "s|^TryExec=semedit|TryExec=$prefix/bin/semedit|" \
  "$data/semedit.desktop" >"$share/applications/semedit.desktop"
chmod 644 "$share/applications/semedit.desktop"
install -m 644 "$data/io.github.semedit.SemEdit.metainfo.xml" "$share/metainfo/"
install -m 644 "$data/semedit-mime.xml" "$share/mime/packages/semedit.xml"

for n in "${sizes[@]}"; do
  src="$icons/hicolor/${n}x${n}"
  if [[ -f $src/apps/semedit.png ]]; then
    install -D -m 644 "$src/apps/semedit.png" "$share/icons/hicolor/${n}x${n}/apps/semedit.png"
  fi
  if [[ -f $src/mimetypes/application-x-semedit.png ]]; then
    install -D -m 644 "$src/mimetypes/application-x-semedit.png" \
      "$share/icons/hicolor/${n}x${n}/mimetypes/application-x-semedit.png"
  fi
done
refresh

echo "done: run \`semedit\` (in $prefix/bin) or start SemEdit from the applications menu;"
echo "      .semedit projects now open in SemEdit. Remove it with: $0 --uninstall --prefix $prefix"
