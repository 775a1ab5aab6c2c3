# Process supervision, sourced by scripts/run.sh and scripts/run_cluster.sh.
#
#   stop_supervised_on_exit      Ctrl-C, SIGTERM or the end of the script stop every supervised process
#   supervise NAME COMMAND...    runs COMMAND in the background and restarts it whenever it exits
#
# Settings: RUN_DIR (required: $RUN_DIR/NAME.pid holds the pid of the running command), LOG_DIR
# (output to $LOG_DIR/NAME.log; unset: the script's own output), SOTONG_RESTART_DELAY (seconds
# before a restart, 2), SUPERVISE_WARMUP (a Rasa URL: every restart is followed by a warm-up,
# bot/ops/warmup.py, with $PY). A restart is logged on stderr (and in the process's log); the
# first time a process fails (status other than 0), the last lines of its log are shown too.

: "${SOTONG_RESTART_DELAY:=2}"
declare -F stage_failure >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/stage.sh"   # the end of a log
SUPERVISED_PIDS=()

stop_supervised() {
  trap - EXIT INT TERM
  [ ${#SUPERVISED_PIDS[@]} -gt 0 ] && kill -TERM "${SUPERVISED_PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}

stop_supervised_on_exit() {
  trap stop_supervised EXIT
  trap 'exit 0' INT TERM
}

supervise() {
  local name=$1 warmup=${SUPERVISE_WARMUP:-}
  shift
  (
    # Output of this subshell (the command, its warm-ups, the restart lines): NAME's log, if any;
    # fd 3 keeps the script's stderr for the restart lines.
    exec 3>&2
    [ -z "${LOG_DIR:-}" ] || exec >>"$LOG_DIR/$name.log" 2>&1
    child=""
    started=0
    failed=0
    trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; [ -n "$child" ] && wait "$child" 2>/dev/null; rm -f "$RUN_DIR/$name.pid"; exit 0' TERM INT
    while true; do
      [ -z "${LOG_DIR:-}" ] || echo "$(date '+%F %T') supervise: starting $name"   # not the command: it may hold tokens
      "$@" 3>&- &
      child=$!
      echo "$child" >"$RUN_DIR/$name.pid"
      if [ -n "$warmup" ] && [ "$started" = 1 ]; then   # the first start is warmed up by the script
        "${PY:-python3}" -m bot.ops.warmup --rasa "$warmup" 3>&- &
      fi
      started=1
      status=0
      wait "$child" || status=$?
      message="$(date '+%F %T') supervise: $name exited with status $status; restarting in ${SOTONG_RESTART_DELAY}s"
      if [ -n "${LOG_DIR:-}" ]; then
        echo "$message"
        echo "$message (log: $LOG_DIR/$name.log)" >&3
        if [ "$status" != 0 ] && [ "$failed" = 0 ]; then
          failed=1
          stage_failure "$LOG_DIR/$name.log" 2>&3
        fi
      else
        echo "$message" >&3
      fi
      sleep "$SOTONG_RESTART_DELAY"
    done
  ) &
  SUPERVISED_PIDS+=($!)
}
