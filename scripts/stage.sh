# Stages of `make run` (issue 15 point 11), sourced by scripts/setup.sh and scripts/run.sh: one short
# line per stage on the terminal, everything the stage prints in its log file under var/log/.
#
#   run_stage LABEL LOG COMMAND...   runs COMMAND with its output appended to LOG and prints
#                                    "LABEL ... done (N s)"; when it fails, the last lines of LOG
#                                    and where the whole log is, and returns COMMAND's status.
#   stage_start LABEL LOG / stage_end STATUS LOG
#                                    the same around a command the caller runs (e.g. in the
#                                    background, to stop it on Ctrl-C).

: "${STAGE_TAIL_LINES:=30}"

stage_start() {
  STAGE_STARTED=$SECONDS
  mkdir -p "$(dirname "$2")"
  echo "$(date '+%F %T') $1" >>"$2"
  printf '%s ... ' "$1"
}

stage_end() {
  local status=$1 log=$2
  if [ "$status" -eq 0 ]; then
    echo "done ($((SECONDS - STAGE_STARTED)) s)"
    return 0
  fi
  echo "failed (status $status)"
  stage_failure "$log"
  return "$status"
}

run_stage() {
  local log=$2 status=0
  stage_start "$1" "$log"
  shift 2
  "$@" >>"$log" 2>&1 || status=$?
  stage_end "$status" "$log"
}

# The last lines of a log and where the whole log is (on stderr).
stage_failure() {
  local log=$1
  {
    echo "Last $STAGE_TAIL_LINES lines of $log:"
    tr '\r' '\n' <"$log" | grep -v '^[[:space:]]*$' | tail -n "$STAGE_TAIL_LINES" | sed 's/^/  /'
    echo "Full log: $log"
  } >&2
}
