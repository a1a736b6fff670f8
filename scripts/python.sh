# shellcheck shell=bash
# Sourced by the top-level scripts (bash 3.2+): finds the Python that runs the workflow package and starts it.

# Exit status 3: older than the workflow package's 3.11; 1 (ImportError): no boto3.
readonly PYTHON_CHECK='import sys
if sys.version_info < (3, 11):
    sys.exit(3)
import boto3'

# The repository's .venv (make venv) when present, else a python3 that is 3.11+ and can import boto3.
# Returns 1 without such a python3, 3 when python3 is older than 3.11.
find_python() {
  local repo_root="$1" status=0
  if [[ -x "${repo_root}/.venv/bin/python" ]]; then
    printf '%s\n' "${repo_root}/.venv/bin/python"
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || return 1
  python3 -c "$PYTHON_CHECK" >/dev/null 2>&1 || status=$?
  case "$status" in
    0) command -v python3 ;;
    3) return 3 ;;
    *) return 1 ;;
  esac
}

# Replaces the shell with `python -m <package> <args>`, the repository root on PYTHONPATH; exit 2 without a Python.
exec_python_module() {
  local repo_root="$1" package="$2" script="$3" python status=0
  shift 3
  python="$(find_python "$repo_root")" || status=$?
  if [[ "$status" -eq 3 ]]; then
    printf 'ERROR: %s needs Python 3.11+ and python3 is older: run "make venv PYTHON=python3.11" (or newer)\n' \
      "$script" >&2
    exit 2
  fi
  if [[ "$status" -ne 0 ]]; then
    printf 'ERROR: %s needs python3 with boto3: run "make venv", or "python3 -m pip install boto3"\n' "$script" >&2
    exit 2
  fi
  PYTHONPATH="${repo_root}${PYTHONPATH:+:${PYTHONPATH}}" exec "$python" -m "$package" "$@"
}
