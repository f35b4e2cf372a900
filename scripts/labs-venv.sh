#!/usr/bin/env bash
# Create, or bring up to date, the labs' tool environment (DESIGN.md, "The sandbox for labs"):
# a venv made from Debian's /usr/bin/python3 (root's home is 0700, so a venv of the pyenv python
# cannot be run by a sandbox UID) in a folder any UID can read and execute, holding the tools
# that labs run: ruff, pytest, build, hatchling. Idempotent; returns at once when up to date.
# It writes nothing outside the venv folder.
#
# Usage: scripts/labs-venv.sh [VENV]      (default: /var/tmp/triops-labs-venv)
set -euo pipefail

VENV="${1:-/var/tmp/triops-labs-venv}"
PYTHON=/usr/bin/python3
# Same ruff and pytest as the project's dev pins; bump together.
PACKAGES=(ruff==0.17.5 pytest==9.2.0 build==1.6.1 hatchling==1.33.0)
STAMP="$VENV/.triops-labs-venv"
WANT="$(printf '%s\n' "$PYTHON" "${PACKAGES[@]}")"

umask 022

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "labs-venv: $VENV is up to date"
  exit 0
fi

if [ ! -x "$PYTHON" ]; then
  echo "labs-venv: $PYTHON is missing (Debian package python3)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "labs-venv: '$PYTHON -m venv' cannot work here: install the Debian package python3-venv" >&2
  exit 1
fi

# A venv made from another interpreter is rebuilt (only a folder that is a venv is removed).
if [ -f "$VENV/pyvenv.cfg" ] && ! grep -qx "home = $(dirname "$PYTHON")" "$VENV/pyvenv.cfg"; then
  echo "labs-venv: $VENV was not made from $PYTHON; rebuilding it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  if [ -e "$VENV" ] && [ -n "$(ls -A "$VENV" 2>/dev/null)" ]; then
    echo "labs-venv: $VENV exists and is not a venv; refusing to touch it" >&2
    exit 1
  fi
  echo "labs-venv: creating $VENV from $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi

echo "labs-venv: installing ${PACKAGES[*]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}"

# Readable and executable by every sandbox UID, down from /.
chmod -R a+rX "$VENV"
dir="$VENV"
while [ "$dir" != "/" ]; do
  dir="$(dirname "$dir")"
  if [ "$(( 0$(stat -c '%a' "$dir") & 1 ))" = "0" ]; then
    echo "labs-venv: warning: $dir is not traversable by others; sandbox UIDs cannot reach $VENV" >&2
  fi
done

printf '%s\n' "$WANT" >"$STAMP"
echo "labs-venv: ready at $VENV"
