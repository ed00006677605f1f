#!/usr/bin/env bash
# Set up everything PaperVoice needs on a Debian machine: system packages (when root),
# a virtual environment in .venv, and the package with its extras.  Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(tesseract-ocr tesseract-ocr-eng poppler-utils fonts-dejavu-core fonts-noto-core
  fonts-dkg-handwriting fonts-breip fonts-femkeklaver fonts-humor-sans fonts-comic-neue fonts-kristi
  fonts-dancingscript fonts-rufscript fonts-kaushanscript fonts-ecolier-court
  postgresql pspp)  # postgresql: the tests start a throw-away server; GNU PSPP: they read the SPSS export back
if [ "${PAPERVOICE_BROWSER:-0}" = "1" ]; then SYSTEM_PACKAGES+=(chromium); fi

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || apt-get update
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these system packages are missing: ${missing[*]}" >&2
    echo "setup: install them with:  sudo apt-get install ${missing[*]}" >&2
    exit 3
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.papervoice-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing PaperVoice and its Python dependencies into .venv" >&2
  # (the filter drops this machine's notes about package mirrors that do not exist; real errors still show)
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 >/dev/null | grep -v "is neither a file nor a directory" >&2 || true
  # The default handwriting engine (faster-paddle) ships wheels for glibc 2.34 and newer only (Debian 12,
  # Ubuntu 22.04 and later).  On an older system everything else is installed and scans use --ocr tesseract.
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | head -1)" != "2.34" ]; then
    echo "setup: this system's C library (glibc $glibc) is older than the default handwriting engine needs" \
         "(2.34): installing without it; scan with --ocr tesseract (or --ocr rapidocr)" >&2
    .venv/bin/python - > .venv/requirements-no-faster-paddle.txt <<'PYEOF'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = project["dependencies"] + [d for extra in ("dev", "dask", "rapidocr", "postgres")
                                    for d in project["optional-dependencies"][extra]]
print("\n".join(d for d in wanted if not d.startswith("faster-paddle")))
PYEOF
    .venv/bin/python -m pip install -q -r .venv/requirements-no-faster-paddle.txt 2> >(grep -v "is neither a file nor a directory" >&2)
    .venv/bin/python -m pip install -q --no-deps -e . 2> >(grep -v "is neither a file nor a directory" >&2)
  else
    .venv/bin/python -m pip install -q -e ".[dev,dask,rapidocr,postgres]" 2> >(grep -v "is neither a file nor a directory" >&2)
  fi
  touch "$stamp"
fi
# say now, not at the first scan, if the default handwriting engine cannot run here
.venv/bin/python -c "from pipeline.scan.ocr import DEFAULT_ENGINE, check_engine; check_engine(DEFAULT_ENGINE)" 2>/dev/null \
  || echo "setup: the default handwriting engine cannot run here; scan with --ocr tesseract" >&2
