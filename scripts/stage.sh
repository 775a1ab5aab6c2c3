# Stages of `make run` (issue 15 point 11), sourced by scripts/setup.sh and scripts/run.sh: one short
# line per stage on the terminal, everything the stage prints in its log file under var/log/.
#
#   run_stage LABEL LOG COMMAND...   runs COMMAND with its output appended to LOG and prints
#                                    "LABEL ... done (N s)"; when it fails, the last lines of LOG
#                                    and where the whole log is, and returns COMMAND's status.

: "${STAGE_TAIL_LINES:=30}"

run_stage() {
  local label=$1 log=$2 started=$SECONDS status=0
  shift 2
  mkdir -p "$(dirname "$log")"
  printf '%s (%s) ... ' "$label" "$(date '+%F %T')" >>"$log"; echo >>"$log"
  printf '%s ... ' "$label"
  "$@" >>"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    echo "done ($((SECONDS - started)) s)"
    return 0
  fi
  echo "failed (status $status)"
  stage_failure "$log"
  return "$status"
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
