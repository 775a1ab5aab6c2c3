#!/usr/bin/env bash
# Starts Sotong on the embedded default (SQLite): action server, outbox dispatcher, retention job,
# staff console and the Rasa server with the REST and Kakao channels. Every process is supervised
# (scripts/supervise.sh): one that dies is restarted after SOTONG_RESTART_DELAY seconds (2) and
# the restart is shown; the others keep serving. Ctrl-C stops everything.
#
# The terminal gets one line per stage and, once every process answers, the addresses and what to
# do next; everything the processes print goes to var/log/<name>.log (rasa, actions, dispatcher,
# retention, staff; migrate and warmup for those stages).
#
# Every port listens on 127.0.0.1 unless a setting opens it (README "Security"):
#   SOTONG_RASA_INTERFACE (Rasa: Kakao skill route, REST channel, HTTP API with a token),
#   SOTONG_ACTIONS_INTERFACE (action server), SOTONG_STAFF_HOST (staff console).
# Secrets come from the environment or are generated into var/ (scripts/secrets.sh).
#
# Departments and agencies: the sample data's endpoints do not exist on this machine, so the
# dispatcher delivers to the staff console's local inbox instead (SOTONG_DELIVERY_LOCAL_INBOX,
# bot/delivery/local_inbox.py; set it to "" to deliver to the endpoints of data/city).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stage.sh
LOG_DIR=var/log
RUN_DIR=var/run
mkdir -p "$RUN_DIR" "$LOG_DIR"
export TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1
export SOTONG_DATABASE_URL="${SOTONG_DATABASE_URL:-sqlite:///$PWD/var/sotong.db}"
# One TensorFlow thread per op: the models are small, and a per-core pool only adds contention
# with the action server on the 2-core machine (bench/kakao_load.py: 26.8 -> 30.7 Kakao answers/s).
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
# Memory of each Python process (malloc arenas; the JVM heap of the Okt analyzer is
# SOTONG_JVM_MAX_HEAP_MB, bot/nlu/analyzers.py): bench/memory.py measured them.
. scripts/memory_env.sh
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
STAFF_PORT=${STAFF_PORT:-8000}
RASA_INTERFACE=${SOTONG_RASA_INTERFACE:-127.0.0.1}
export SANIC_HOST=${SOTONG_ACTIONS_INTERFACE:-127.0.0.1}   # the action server's address (rasa_sdk)
export SOTONG_STAFF_HOST=${SOTONG_STAFF_HOST:-127.0.0.1}
PY=.venv/bin/python

. scripts/secrets.sh
ensure_sotong_secrets var "$PY"
ensure_local_inbox_secret var
export SOTONG_DELIVERY_LOCAL_INBOX="${SOTONG_DELIVERY_LOCAL_INBOX-http://127.0.0.1:$STAFF_PORT/local-inbox/deliveries}"
model=$(ls -t models/*.tar.gz | head -n 1)
run_stage "database: migrating ${SOTONG_DATABASE_URL#sqlite:///}" "$LOG_DIR/migrate.log" \
  "$PY" -m bot.storage.migrate upgrade

. scripts/supervise.sh
stop_supervised_on_exit
supervise actions "$PY" -m bot.rasa_ext.action_server --actions actions --port "$ACTIONS_PORT"
supervise dispatcher "$PY" -m bot.delivery run
supervise retention "$PY" -m bot.privacy.retention --days "${SOTONG_RETENTION_DAYS:-90}" --every-hours 24 --endpoints endpoints.yml
supervise staff "$PY" -m bot.staff serve --port "$STAFF_PORT"
SUPERVISE_WARMUP="http://127.0.0.1:$RASA_PORT" supervise rasa "$PY" -m bot.server run --model "$model" \
  --enable-api --auth-token "$SOTONG_RASA_TOKEN" --interface "$RASA_INTERFACE" --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml
# Ready when every process answers. The first turn of a fresh Rasa process starts the JVM and
# traces the TensorFlow graphs (seconds): one warm-up turn before the citizens' first. In the
# background and stopped with the rest, so that Ctrl-C also stops a start-up that hangs.
stage_start "starting: loading $model and warming it up (a minute or more)" "$LOG_DIR/warmup.log"
"$PY" -m bot.ops.warmup --ready "http://127.0.0.1:$ACTIONS_PORT/health" \
  --ready "http://127.0.0.1:$STAFF_PORT/health" --rasa "http://127.0.0.1:$RASA_PORT" >>"$LOG_DIR/warmup.log" 2>&1 &
SUPERVISED_PIDS+=($!)
status=0
wait $! || status=$?
stage_end "$status" "$LOG_DIR/warmup.log" || { echo "Sotong did not start: see $LOG_DIR/rasa.log, actions.log and staff.log" >&2; exit 1; }
# A model Rasa cannot load leaves a server that answers but has no agent (409 on /status).
if ! "$PY" -c 'import sys, urllib.request; from bot.ops.warmup import api_url; urllib.request.urlopen(api_url(sys.argv[1]), timeout=10)' \
    "http://127.0.0.1:$RASA_PORT/status" >>"$LOG_DIR/warmup.log" 2>&1; then
  echo "The Rasa server runs but could not load $model ('make clean-models train' trains a new one)." >&2
  stage_failure "$LOG_DIR/rasa.log"
  exit 1
fi

secret_of() {  # where a secret comes from: its file in var/, or the environment
  if [ -s "var/$2" ] && [ "${!1}" = "$(cat "var/$2")" ]; then echo "var/$2"; else echo "\$$1 (environment)"; fi
}
inbox="http://$SOTONG_STAFF_HOST:$STAFF_PORT/local-inbox   what departments and agencies received"
[ -n "$SOTONG_DELIVERY_LOCAL_INBOX" ] || inbox="off: deliveries go to the endpoints of data/city"
cat <<EOF2

Sotong is ready ($model).
  Kakao skill URL  http://$RASA_INTERFACE:$RASA_PORT/webhooks/kakao/webhook   header X-Sotong-Secret: $(secret_of KAKAO_SKILL_SECRET kakao_secret)
  REST channel     http://$RASA_INTERFACE:$RASA_PORT/webhooks/rest/webhook    header X-Sotong-Rest-Token: $(secret_of SOTONG_REST_TOKEN rest_token)
  Rasa HTTP API    http://$RASA_INTERFACE:$RASA_PORT/                         ?token= $(secret_of SOTONG_RASA_TOKEN rasa_token)
  Staff console    http://$SOTONG_STAFF_HOST:$STAFF_PORT/                        accounts: make demo, or .venv/bin/python -m bot.staff users add ...
  Local inbox      $inbox
  Secrets          var/ (mode 600; README "Security"): kakao_secret, rest_token, rasa_token, action_secret, data_key, local_inbox_token
  Logs             $LOG_DIR/: rasa.log, actions.log, dispatcher.log, staff.log, retention.log
Next, in another terminal:
  make demo        staff accounts (one per role, passwords shown once) and sample tickets
  make chat        talk to the bot as a KakaoTalk user
  make test        the test suite
Ctrl-C stops everything.
EOF2
wait
