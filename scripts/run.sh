#!/usr/bin/env bash
# Starts Sotong on the embedded default (SQLite): action server, outbox dispatcher, retention job,
# staff console and the Rasa server with the REST and Kakao channels. Every process is supervised
# (scripts/supervise.sh): one that dies is restarted after SOTONG_RESTART_DELAY seconds (2) and
# the restart is logged; the others keep serving. Ctrl-C stops everything.
#
# Every port listens on 127.0.0.1 unless a setting opens it (README "Security"):
#   SOTONG_RASA_INTERFACE (Rasa: Kakao skill route, REST channel, HTTP API with a token),
#   SOTONG_ACTIONS_INTERFACE (action server), SOTONG_STAFF_HOST (staff console).
# Secrets come from the environment or are generated into var/ (scripts/secrets.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/run
export PYTHONPATH="$PWD" TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1
export SOTONG_DATABASE_URL="${SOTONG_DATABASE_URL:-sqlite:///$PWD/var/sotong.db}"
# One TensorFlow thread per op: the models are small, and a per-core pool only adds contention
# with the action server on the 2-core machine (bench/kakao_load.py: 26.8 -> 30.7 Kakao answers/s).
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
STAFF_PORT=${STAFF_PORT:-8000}
RASA_INTERFACE=${SOTONG_RASA_INTERFACE:-127.0.0.1}
export SANIC_HOST=${SOTONG_ACTIONS_INTERFACE:-127.0.0.1}   # the action server's address (rasa_sdk)
export SOTONG_STAFF_HOST=${SOTONG_STAFF_HOST:-127.0.0.1}
PY=.venv/bin/python
RUN_DIR=var/run

. scripts/secrets.sh
ensure_sotong_secrets var "$PY"
echo "Secrets in var/ unless set in the environment (README \"Security\"); Kakao's header X-Sotong-Secret: var/kakao_secret"
model=$(ls -t models/*.tar.gz | head -n 1)
"$PY" -m bot.storage.migrate upgrade

. scripts/supervise.sh
stop_supervised_on_exit
supervise actions "$PY" -m bot.rasa_ext.action_server --actions actions --port "$ACTIONS_PORT"
supervise dispatcher "$PY" -m bot.delivery run
supervise retention "$PY" -m bot.privacy.retention --days "${SOTONG_RETENTION_DAYS:-90}" --every-hours 24 --endpoints endpoints.yml
supervise staff "$PY" -m bot.staff serve --port "$STAFF_PORT"
echo "Staff console on http://$SOTONG_STAFF_HOST:$STAFF_PORT (accounts: .venv/bin/python -m bot.staff users add …)"
echo "Serving $model on http://$RASA_INTERFACE:$RASA_PORT (Kakao skill URL: /webhooks/kakao/webhook)"
SUPERVISE_WARMUP="http://127.0.0.1:$RASA_PORT" supervise rasa .venv/bin/rasa run --model "$model" \
  --enable-api --auth-token "$SOTONG_RASA_TOKEN" --interface "$RASA_INTERFACE" --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml
# The first turn of a fresh process starts the JVM and traces the TensorFlow graphs (seconds):
# one warm-up turn as soon as the server answers, so that no citizen waits for it.
"$PY" -m bot.ops.warmup --ready "http://127.0.0.1:$ACTIONS_PORT/health" --rasa "http://127.0.0.1:$RASA_PORT" &
wait
