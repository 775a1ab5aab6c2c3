#!/usr/bin/env bash
# Sotong in the production profile on one machine (`make run-prod`): nginx as load balancer on
# loopback in front of several `rasa run` processes (PostgreSQL tracker store with personal data
# masked, Redis lock store) and of the action servers, plus the outbox dispatcher and the daily
# conversation-retention job. Ctrl-C (or SIGTERM) stops everything.
#
# Configuration: environment variables (config/profiles/production/env.example lists them with
# their defaults); var/production.env is read first when it exists. Every process is supervised:
# one that dies is restarted after SOTONG_RESTART_DELAY seconds (2). Logs: $SOTONG_VAR_DIR/log/,
# pid of each running process: $SOTONG_VAR_DIR/run/<name>.pid, nginx config: $SOTONG_VAR_DIR/nginx/.
#
# Steps: install nginx if missing (scripts/install_nginx.sh), create the PostgreSQL databases if
# missing, migrate the application schema (python -m bot.storage.migrate upgrade), generate nginx.conf,
# start the processes, wait until every one answers and warm up the Rasa processes (bot/ops/warmup.py),
# print "Sotong cluster ready". Secrets: scripts/secrets.sh (README "Security").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ -f var/production.env ]; then
  set -a; . var/production.env; set +a
fi

# --- configuration (defaults for one machine) -----------------------------------------------------
: "${SOTONG_VAR_DIR:=$ROOT/var}"
: "${SOTONG_LISTEN:=127.0.0.1}"            # nginx's address; the instances always listen on loopback
: "${SOTONG_PORT:=5005}"                   # Kakao skill URL: http://<host>:$SOTONG_PORT/webhooks/kakao/webhook
: "${SOTONG_RASA_INSTANCES:=2}"
: "${SOTONG_RASA_BASE_PORT:=5011}"
: "${SOTONG_ACTION_INSTANCES:=2}"
: "${SOTONG_ACTIONS_PORT:=5055}"           # nginx in front of the action servers
: "${SOTONG_ACTIONS_BASE_PORT:=5061}"
: "${SOTONG_RUN_DISPATCHER:=1}"
: "${SOTONG_RETENTION_DAYS:=90}"           # 0: no retention job
: "${SOTONG_RETENTION_EVERY_HOURS:=24}"
: "${SOTONG_RESTART_DELAY:=2}"           # seconds before a dead process is restarted (scripts/supervise.sh)
: "${SOTONG_ENDPOINTS:=$ROOT/config/profiles/production/endpoints.yml}"
: "${SOTONG_CREDENTIALS:=$ROOT/credentials.yml}"
: "${SOTONG_RASA_ARGS:=}"                  # extra `rasa run` arguments, e.g. --debug
export SOTONG_DATABASE_URL="${SOTONG_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/sotong}"
export SOTONG_TRACKER_DB_HOST="${SOTONG_TRACKER_DB_HOST:-127.0.0.1}"
export SOTONG_TRACKER_DB_PORT="${SOTONG_TRACKER_DB_PORT:-5432}"
export SOTONG_TRACKER_DB_NAME="${SOTONG_TRACKER_DB_NAME:-sotong_tracker}"
export SOTONG_TRACKER_DB_USER="${SOTONG_TRACKER_DB_USER:-postgres}"
export SOTONG_TRACKER_DB_PASSWORD="${SOTONG_TRACKER_DB_PASSWORD:-}"
export SOTONG_REDIS_HOST="${SOTONG_REDIS_HOST:-127.0.0.1}"
export SOTONG_REDIS_PORT="${SOTONG_REDIS_PORT:-6379}"
export SOTONG_REDIS_DB="${SOTONG_REDIS_DB:-1}"
export SOTONG_REDIS_PASSWORD="${SOTONG_REDIS_PASSWORD:-}"
export SOTONG_REDIS_LOCK_PREFIX="${SOTONG_REDIS_LOCK_PREFIX:-sotong}"
# "더 보기" pages and late "답변 보기" answers, shared by the Rasa processes (bot/channels/kakao/continuations.py).
export SOTONG_KAKAO_CONTINUATIONS_URL="${SOTONG_KAKAO_CONTINUATIONS_URL:-redis://${SOTONG_REDIS_PASSWORD:+:$SOTONG_REDIS_PASSWORD@}$SOTONG_REDIS_HOST:$SOTONG_REDIS_PORT/$SOTONG_REDIS_DB}"
export SOTONG_ACTION_ENDPOINT_URL="${SOTONG_ACTION_ENDPOINT_URL:-http://127.0.0.1:$SOTONG_ACTIONS_PORT/webhook}"
export TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1 RASA_TELEMETRY_ENABLED=false
export SANIC_HOST=127.0.0.1                # the action servers: loopback only, nginx is in front
# One TensorFlow thread pool per Rasa process: the processes are the parallelism. Measured on the
# 2-core machine (bench/cluster_load.py, 50 citizens): 29.9 -> 33.9 answers/s load-balanced, one
# process 16.9 -> 23.5 answers/s, compared with TensorFlow's default (a pool per core per process).
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
# Memory of each Python process (malloc arenas; the JVM heap of the Okt analyzer is
# SOTONG_JVM_MAX_HEAP_MB, bot/nlu/analyzers.py): bench/memory.py measured them.
. scripts/memory_env.sh

PY=$ROOT/.venv/bin/python
LOG_DIR=$SOTONG_VAR_DIR/log
RUN_DIR=$SOTONG_VAR_DIR/run
NGINX_DIR=$SOTONG_VAR_DIR/nginx
mkdir -p "$LOG_DIR" "$RUN_DIR" "$NGINX_DIR/tmp"

# Secrets (README "Security"): from the environment, else generated into $SOTONG_VAR_DIR (mode 600).
. scripts/secrets.sh
ensure_sotong_secrets "$SOTONG_VAR_DIR" "$PY"

model=${SOTONG_MODEL:-$(ls -t models/*.tar.gz 2>/dev/null | head -n 1 || true)}
[ -n "$model" ] && [ -f "$model" ] || { echo "no model: run 'make train' (or set SOTONG_MODEL)" >&2; exit 1; }

scripts/install_nginx.sh
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- databases --------------------------------------------------------------------------------------
"$PY" -m bot.storage.migrate ensure-database --tracker-endpoints "$SOTONG_ENDPOINTS"
"$PY" -m bot.storage.migrate upgrade

# --- nginx configuration ----------------------------------------------------------------------------
rasa_servers="" action_servers=""
for ((i = 0; i < SOTONG_RASA_INSTANCES; i++)); do
  rasa_servers+="    server 127.0.0.1:$((SOTONG_RASA_BASE_PORT + i)) max_fails=0;"$'\n'
done
for ((i = 0; i < SOTONG_ACTION_INSTANCES; i++)); do
  action_servers+="    server 127.0.0.1:$((SOTONG_ACTIONS_BASE_PORT + i)) max_fails=0;"$'\n'
done
nginx_user=""
[ "$(id -u)" -eq 0 ] && nginx_user="user nobody nogroup;"   # workers never run as root
cat > "$NGINX_DIR/nginx.conf" <<EOF
# Generated by scripts/run_cluster.sh; edits are overwritten at the next start.
$nginx_user
worker_processes 1;
daemon off;
pid $NGINX_DIR/nginx.pid;
error_log $LOG_DIR/nginx-error.log warn;
events { worker_connections 2048; }
http {
  # No request bodies or query strings in the log: citizens' messages stay out of it.
  log_format sotong '\$time_iso8601 \$status \$request_method \$uri \$request_time s '
                    'upstream=\$upstream_addr \$upstream_response_time s';
  access_log $LOG_DIR/nginx-access.log sotong;
  client_body_temp_path $NGINX_DIR/tmp/client_body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  client_max_body_size 1m;
  client_body_buffer_size 128k;
  proxy_buffers 16 16k;
  proxy_max_temp_file_size 0;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host \$host;
  proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
  # A request is passed to the next instance only when it never reached the first one
  # (connection refused: an instance restarting), never after it was sent. max_fails=0: a
  # refused connection on loopback costs nothing, and an instance is used again the moment it is
  # back (nginx would otherwise answer 502 "no live upstreams" for fail_timeout after an outage).
  proxy_next_upstream error;
  proxy_next_upstream_tries 2;

  # least_conn: a request goes to the instance with the fewest requests in progress, so a few slow
  # turns (a complaint being filed) do not queue others behind them while the other instance idles.
  upstream sotong_rasa {
    least_conn;
$rasa_servers    keepalive 64;
  }
  upstream sotong_actions {
    least_conn;
$action_servers    keepalive 64;
  }

  server {
    listen $SOTONG_LISTEN:$SOTONG_PORT;
    # Only the Kakao skill route and its health check are public. Rasa's HTTP API, the REST
    # channel and everything else stay on the instances' loopback ports. Exact locations, and
    # proxy_pass with the URI: the instance gets exactly this path, whatever the client wrote.
    location = /webhooks/kakao/webhook {
      proxy_pass http://sotong_rasa/webhooks/kakao/webhook;
      proxy_read_timeout 75s;
      add_header X-Sotong-Upstream \$upstream_addr always;
    }
    location = /webhooks/kakao/ {
      proxy_pass http://sotong_rasa/webhooks/kakao/;
      add_header X-Sotong-Upstream \$upstream_addr always;
    }
    location / { return 404; }
  }

  server {
    listen 127.0.0.1:$SOTONG_ACTIONS_PORT;
    location / {
      proxy_pass http://sotong_actions;
      proxy_read_timeout 60s;
    }
  }
}
EOF
"$NGINX" -t -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$LOG_DIR/nginx-error.log"

# --- processes ----------------------------------------------------------------------------------------
. scripts/supervise.sh
stop_supervised_on_exit

ready_args=()
for ((i = 0; i < SOTONG_ACTION_INSTANCES; i++)); do
  port=$((SOTONG_ACTIONS_BASE_PORT + i))
  supervise "actions-$i" "$PY" -m bot.rasa_ext.action_server --actions actions --port "$port"
  ready_args+=(--ready "http://127.0.0.1:$port/health")
done
if [ "$SOTONG_RUN_DISPATCHER" = 1 ]; then
  supervise dispatcher "$PY" -m bot.delivery run
fi
if [ "$SOTONG_RETENTION_DAYS" != 0 ]; then
  supervise retention "$PY" -m bot.privacy.retention --days "$SOTONG_RETENTION_DAYS" \
    --every-hours "$SOTONG_RETENTION_EVERY_HOURS" --endpoints "$SOTONG_ENDPOINTS"
fi
for ((i = 0; i < SOTONG_RASA_INSTANCES; i++)); do
  port=$((SOTONG_RASA_BASE_PORT + i))
  # shellcheck disable=SC2086
  SUPERVISE_WARMUP="http://127.0.0.1:$port" supervise "rasa-$i" "$PY" -m bot.server run --model "$model" \
    --enable-api --auth-token "$SOTONG_RASA_TOKEN" --interface 127.0.0.1 --port "$port" \
    --credentials "$SOTONG_CREDENTIALS" --endpoints "$SOTONG_ENDPOINTS" $SOTONG_RASA_ARGS
  ready_args+=(--rasa "http://127.0.0.1:$port")
done
supervise nginx "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$LOG_DIR/nginx-error.log"
ready_args+=(--ready "http://$SOTONG_LISTEN:$SOTONG_PORT/webhooks/kakao/")

echo "Starting $SOTONG_RASA_INSTANCES Rasa and $SOTONG_ACTION_INSTANCES action server processes with $model; logs in $LOG_DIR"
"$PY" -m bot.ops.warmup "${ready_args[@]}" &
wait $! || exit 1   # in the background, so that Ctrl-C/SIGTERM also stop a start-up that hangs
echo "Sotong cluster ready on http://$SOTONG_LISTEN:$SOTONG_PORT (Kakao skill URL: /webhooks/kakao/webhook; REST and Rasa's API only on the instances' loopback ports)"
wait
