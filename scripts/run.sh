#!/usr/bin/env bash
# Starts Sotong on the embedded default (SQLite): action server, outbox dispatcher, staff
# console and the Rasa server with the REST and Kakao channels. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
export PYTHONPATH="$PWD" TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1
export SOTONG_DATABASE_URL="${SOTONG_DATABASE_URL:-sqlite:///$PWD/var/sotong.db}"
# One TensorFlow thread per op: the models are small, and a per-core pool only adds contention
# with the action server on the 2-core machine (bench/kakao_load.py: 26.8 -> 30.7 Kakao answers/s).
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
if [ -z "${KAKAO_SKILL_SECRET:-}" ]; then
  [ -s var/kakao_secret ] || .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(24))" > var/kakao_secret
  KAKAO_SKILL_SECRET=$(cat var/kakao_secret)
  echo "Kakao skill secret (header X-Sotong-Secret) is in var/kakao_secret"
fi
export KAKAO_SKILL_SECRET
model=$(ls -t models/*.tar.gz | head -n 1)
.venv/bin/python -m bot.migrate upgrade
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
.venv/bin/python -m bot.action_server --actions actions --port "${ACTIONS_PORT:-5055}" &
pids+=($!)
.venv/bin/python -m bot.delivery run &
pids+=($!)
.venv/bin/python -m bot.retention --days "${SOTONG_RETENTION_DAYS:-90}" --every-hours 24 --endpoints endpoints.yml &
pids+=($!)
.venv/bin/python -m bot.staff serve --port "${STAFF_PORT:-8000}" &
pids+=($!)
echo "Staff console on http://localhost:${STAFF_PORT:-8000} (accounts: .venv/bin/python -m bot.staff users add …)"
echo "Serving $model on http://localhost:${RASA_PORT:-5005} (Kakao skill URL: /webhooks/kakao/webhook)"
.venv/bin/rasa run --model "$model" --enable-api --port "${RASA_PORT:-5005}" \
  --credentials credentials.yml --endpoints endpoints.yml &
pids+=($!)
# The first turn of a fresh process starts the JVM and traces the TensorFlow graphs (seconds):
# one warm-up turn as soon as the server answers, so that no citizen waits for it.
.venv/bin/python -m bot.warmup --ready "http://127.0.0.1:${ACTIONS_PORT:-5055}/health" \
  --rasa "http://127.0.0.1:${RASA_PORT:-5005}" &
wait -n "${pids[@]}"
