# Sourced by scripts/test and scripts/serve: pick the Python to install into.
# A system Python that is "externally managed" (Debian's, PEP 668) gets a project venv in
# .venv instead; any other Python (pyenv, a venv you activated) is used as it is.
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "jwtwarden needs Python 3.11+ ($PY not found)" >&2; exit 2
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "jwtwarden needs Python 3.11 or newer; $PY is $("$PY" -V 2>&1)" >&2; exit 2; }
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$("$PY" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv 2>/dev/null || {
      if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null;
      else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
      "$PY" -m venv .venv; }
  fi
  PY=.venv/bin/python
fi
"$PY" -m pip install -q --disable-pip-version-check -e '.[all]'
