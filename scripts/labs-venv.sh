#!/usr/bin/env bash
# Create, or bring up to date, the labs' tool environment (DESIGN.md, "The sandbox for labs"):
# a venv made from Debian's /usr/bin/python3 (root's home is 0700, so a venv of the pyenv python
# cannot be run by a sandbox UID) in a folder any UID can read and execute, holding the tools
# that labs run: ruff, pytest, build, hatchling for the CI lab; numpy, pandas, scipy,
# scikit-learn and mlflow-skinny (with SQLAlchemy and Alembic for its SQLite registry) for the
# MLOps lab; and a copy of the project's drift library, `triops.drift`.
#
# Why a copy: the sandbox may read only the system and this venv (Landlock), and CI clones the
# project into a folder a sandbox UID may not traverse, so the lab cannot import it from the
# repo. Only src/triops/__init__.py and src/triops/drift/ are copied (the drift library imports
# numpy, pandas and scipy only); the copy is refreshed whenever their content hash changes.
#
# Idempotent; returns at once when up to date. It writes nothing outside the venv folder.
#
# Usage: scripts/labs-venv.sh [VENV]      (default: /var/tmp/triops-labs-venv)
set -euo pipefail

VENV="${1:-/var/tmp/triops-labs-venv}"
PYTHON=/usr/bin/python3
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Same versions as the project's venv (pyproject.toml and its dev pins): ruff and pytest behave
# alike inside and outside the sandbox, and a model pickled in the sandbox unpickles with the same
# scikit-learn and numpy. Bump together.
PACKAGES=(
  ruff==0.17.5 pytest==9.2.0 build==1.6.1 hatchling==1.33.0
  numpy==2.4.6 pandas==3.1.1 scipy==1.17.1 scikit-learn==1.9.1
  mlflow-skinny==3.17.2 sqlalchemy==2.1.9 alembic==1.20.1
)
STAMP="$VENV/.triops-labs-venv"
WANT="$(printf '%s\n' "$PYTHON" "${PACKAGES[@]}")"
DRIFT_STAMP="$VENV/.triops-drift"

umask 022

# The content hash of what is copied: file names and bytes, in a stable order.
drift_hash() {
  if [ ! -d "$REPO/src/triops/drift" ]; then
    echo "absent"
    return
  fi
  (cd "$REPO/src" && find triops/__init__.py triops/drift -type f -name '*.py' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
DRIFT_WANT="$(drift_hash)"

packages_ready() {
  [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]
}
drift_ready() {
  [ -f "$DRIFT_STAMP" ] && [ "$(cat "$DRIFT_STAMP")" = "$DRIFT_WANT" ] || return 1
  # The copy itself must still be there, not only the stamp.
  [ "$DRIFT_WANT" = "absent" ] \
    || compgen -G "$VENV/lib/python3*/site-packages/triops/drift/__init__.py" >/dev/null
}

if packages_ready && drift_ready; then
  echo "labs-venv: $VENV is up to date"
  exit 0
fi

if ! packages_ready; then
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
fi

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if ! drift_ready; then
  rm -rf "$SITE/triops"
  if [ "$DRIFT_WANT" = "absent" ]; then
    echo "labs-venv: warning: $REPO/src/triops/drift is missing; the MLOps lab cannot run" >&2
  else
    echo "labs-venv: copying triops.drift into $SITE"
    mkdir -p "$SITE/triops"
    cp "$REPO/src/triops/__init__.py" "$SITE/triops/__init__.py"
    (cd "$REPO/src/triops" && find drift -type f -name '*.py' -print0 \
      | xargs -0 -I{} install -D -m 0644 {} "$SITE/triops/{}")
    # Sandbox UIDs cannot write bytecode into the venv: compile it once here.
    "$VENV/bin/python" -m compileall -q "$SITE/triops"
  fi
fi

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
printf '%s\n' "$DRIFT_WANT" >"$DRIFT_STAMP"
echo "labs-venv: ready at $VENV"
