# shellcheck shell=bash
# Sourced by the top-level scripts (bash 3.2+): finds the Python that runs the workflow package and starts it.

# The repository's .venv (make venv) when present, else any python3 that can import boto3; nothing when neither.
find_python() {
  local repo_root="$1"
  if [[ -x "${repo_root}/.venv/bin/python" ]]; then
    printf '%s\n' "${repo_root}/.venv/bin/python"
    return 0
  fi
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' >/dev/null 2>&1; then
    command -v python3
    return 0
  fi
  return 1
}

# Replaces the shell with `python -m <package> <args>`, the repository root on PYTHONPATH; exit 2 without a Python.
exec_python_module() {
  local repo_root="$1" package="$2" script="$3" python
  shift 3
  if ! python="$(find_python "$repo_root")"; then
    printf 'ERROR: %s needs python3 with boto3: run "make venv", or "python3 -m pip install boto3"\n' "$script" >&2
    exit 2
  fi
  PYTHONPATH="${repo_root}${PYTHONPATH:+:${PYTHONPATH}}" exec "$python" -m "$package" "$@"
}
