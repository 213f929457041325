# Sourced by scripts/test and scripts/serve: the Python that virtual environments are made from.
# PYTHON=... picks another one. On Debian a Python without its venv module gets the
# python3-venv package (said first); nothing is ever installed into this Python itself.
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "jwtwarden needs Python 3.11+ ($PY not found; set PYTHON=/path/to/python3.11)" >&2; exit 2
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "jwtwarden needs Python 3.11 or newer; $PY is $("$PY" -V 2>&1)" >&2; exit 2; }
if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "$PY cannot make virtual environments: installing Debian's python3-venv (apt-get)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null;
  else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
fi
