#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/semedit/ from this checkout and smoke-test it.
#
#   packaging/build.sh [--reuse-venv] [--cuda] [--no-test] [--clean]
#
# 1. a fresh virtualenv in build/bundle-venv (python3 -m venv; $PYTHON picks the interpreter)
#    with SemEdit, PyInstaller and pytest installed the ordinary way;
# 2. PyInstaller with packaging/semedit.spec into dist/semedit/ (work files in build/pyinstaller);
# 3. the bundle's smoke test: pytest tests/packaging -m slow (SEMEDIT_BUNDLE=dist/semedit/semedit);
# 4. the bundle's size, its ten largest parts, and the build time.
#
# torch: by default the CPU build (TORCH_REQUIREMENTS, default "torch==2.13.0 torchvision==0.28.0";
# pip takes the CPU wheel 2.13.0+cpu where one is on its find-links; elsewhere set
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu for CPU wheels). --cuda instead lets pip
# pick the registry's newest torch with its CUDA libraries (a bundle of several GB).
#   --reuse-venv  keep build/bundle-venv if it exists (reinstall only SemEdit itself)
#   --no-test     skip the smoke test
#   --clean       clear PyInstaller's cache (build/pyinstaller) first
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
VENV=build/bundle-venv
DIST=dist
BUNDLE=$DIST/semedit
TORCH_REQUIREMENTS=${TORCH_REQUIREMENTS:-"torch==2.13.0 torchvision==0.28.0"}
REUSE=0 CUDA=0 TEST=1 CLEAN=0
for arg in "$@"; do
  case $arg in
    --reuse-venv) REUSE=1 ;;
    --cuda) CUDA=1 ;;
    --no-test) TEST=0 ;;
    --clean) CLEAN=1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

start=$(date +%s)
phase_start=$start
phase() {  # phase NAME: report how long the previous phase took, start the next
  local now; now=$(date +%s)
  [[ -n ${phase_name:-} ]] && timings+=("$(printf '%-12s %5ds' "$phase_name" $((now - phase_start)))")
  phase_name=$1 phase_start=$now
  [[ $1 == done ]] || echo "==> $1"
}
timings=()

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "build.sh: SemEdit needs Python 3.11+ (set PYTHON=python3.X)")'

phase venv
if [[ $REUSE == 1 && -x $VENV/bin/python ]]; then
  echo "reusing $VENV"
else
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
PIP=(nice -n 10 "$VENV/bin/python" -m pip install --quiet)

phase install
if [[ $CUDA == 1 ]]; then
  "${PIP[@]}" --upgrade torch torchvision  # the registry's newest, with its CUDA libraries
else
  # shellcheck disable=SC2086  # TORCH_REQUIREMENTS is a list of requirements
  if [[ -n ${TORCH_INDEX_URL:-} ]]; then
    "${PIP[@]}" --extra-index-url "$TORCH_INDEX_URL" $TORCH_REQUIREMENTS
  else
    "${PIP[@]}" $TORCH_REQUIREMENTS
  fi
fi
# A non-editable install: the bundle gets exactly what a user's `pip install .` would
# (reinstalled without its dependencies so that a reused venv gets the checkout's code).
"${PIP[@]}" ".[packaging]" "pytest>=8"
"${PIP[@]}" --force-reinstall --no-deps .
"$VENV/bin/python" - <<'PY'
import torch
flavour = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only"
print(f"torch {torch.__version__} ({flavour})")
PY

phase pyinstaller
[[ $CLEAN == 1 ]] && rm -rf build/pyinstaller
rm -rf "$BUNDLE"
nice -n 10 "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath build/pyinstaller packaging/semedit.spec
cp packaging/linux/install.sh "$BUNDLE/install.sh"

if [[ $TEST == 1 ]]; then
  phase smoke-test
  SEMEDIT_BUNDLE="$ROOT/$BUNDLE/semedit" "$VENV/bin/python" -m pytest tests/packaging -m slow \
    -p no:cacheprovider -v
fi
phase done

echo
echo "==> bundle $BUNDLE: $(du -sh "$BUNDLE" | cut -f1) ($(find "$BUNDLE" -type f | wc -l) files)"
echo "largest parts of $BUNDLE/_internal:"
du -sh "$BUNDLE"/_internal/* | sort -rh | head -10 | sed 's/^/  /'
echo "largest files:"
find "$BUNDLE" -type f -size +15M -printf '%s\t%P\n' | sort -rn | head -10 \
  | awk -F'\t' '{ printf "  %5.0fM\t%s\n", $1 / 1048576, $2 }'
echo "build time: $(( $(date +%s) - start ))s"
printf '  %s\n' "${timings[@]}"
