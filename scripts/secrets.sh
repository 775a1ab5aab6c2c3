# Secrets of a Sotong installation, sourced by scripts/run.sh and scripts/run_cluster.sh.
#
#   ensure_secret VAR FILE [COMMAND...]   exports VAR: its value from the environment when set, else
#                                         the content of FILE, which is created (mode 600) with
#                                         COMMAND's output (default: 32 random url-safe bytes) when
#                                         missing or empty.
#   ensure_sotong_secrets DIR PYTHON      all of them, files in DIR (README "Security").
#   ensure_local_inbox_secret DIR         the local department inbox's token (`make run` only).

ensure_secret() {
  local var=$1 file=$2
  shift 2
  if [ -n "${!var:-}" ]; then
    export "${var?}"
    return 0
  fi
  if [ ! -s "$file" ]; then
    mkdir -p "$(dirname "$file")"
    if [ $# -eq 0 ]; then
      set -- "${SOTONG_SECRET_PYTHON:-python3}" -c "import secrets; print(secrets.token_urlsafe(32))"
    fi
    (umask 077 && "$@" >"$file.new") && mv "$file.new" "$file"
    echo "Generated $var into $file"
  fi
  chmod 600 "$file"
  printf -v "$var" '%s' "$(cat "$file")"
  export "${var?}"
}

ensure_sotong_secrets() {
  local dir=$1
  SOTONG_SECRET_PYTHON=$2
  ensure_secret KAKAO_SKILL_SECRET "$dir/kakao_secret"      # header X-Sotong-Secret from Kakao i Open Builder
  ensure_secret SOTONG_RASA_TOKEN "$dir/rasa_token"         # Rasa's HTTP API: ?token=
  ensure_secret SOTONG_ACTION_SECRET "$dir/action_secret"   # Rasa -> action server: X-Sotong-Action-Secret
  ensure_secret SOTONG_REST_TOKEN "$dir/rest_token"         # REST channel: X-Sotong-Rest-Token
  ensure_secret SOTONG_DATA_KEY "$dir/data_key" "$SOTONG_SECRET_PYTHON" -m bot.privacy.encryption new-key  # encryption at rest
}

# The dispatcher's X-Sotong-Inbox-Token for the staff console's local department inbox, which only
# `make run` uses (scripts/run.sh; bot/delivery/local_inbox.py); the production profile has none.
ensure_local_inbox_secret() {
  ensure_secret SOTONG_LOCAL_INBOX_TOKEN "$1/local_inbox_token"
}
