# Sotong — see README.md. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RASA := $(BIN)/rasa
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Credentials for `make chat` and the benches: from the environment, else those `make run` generated
# in var/ (scripts/secrets.sh); a file that does not exist exports nothing.
secret_from_var = $(if $(wildcard var/$(2)),$(eval export $(1) ?= $$(shell cat var/$(2))))
$(call secret_from_var,KAKAO_SKILL_SECRET,kakao_secret)
$(call secret_from_var,SOTONG_RASA_TOKEN,rasa_token)
$(call secret_from_var,SOTONG_REST_TOKEN,rest_token)

.PHONY: setup setup-dev lint test-fast train model run run-prod migrate test validate eval demo chat bench bench-kakao bench-cluster bench-long bench-train bench-flood bench-memory clean-models

setup:
	@scripts/setup.sh

# The runtime and the test and lint tools (requirements-dev.lock).
setup-dev:
	@scripts/setup.sh dev

# Trains a model from config.yml, domain.yml and data/ (Rasa reuses cached parts): one progress
# line, Rasa's output in var/log/train.log (bot/ops/progress.py).
train: setup
	@$(BIN)/python -m bot.ops.progress train

# Trains only when models/ holds no model yet.
model: setup
	@ls models/*.tar.gz >/dev/null 2>&1 || $(MAKE) --no-print-directory train

run: model
	@scripts/run.sh

# Production profile: PostgreSQL, Redis, several Rasa processes behind nginx (README).
run-prod: model
	@scripts/run_cluster.sh

migrate: setup
	$(BIN)/python -m bot.storage.migrate upgrade

test: setup-dev
	@scripts/install_browser.sh || echo "warning: Chromium could not be installed; the browser tests will skip (fail under CI)"
	$(BIN)/python -m pytest -q tests

# The tests that need neither the trained test model nor started servers (marker `integration`),
# on both cores, property and corpus tests with a fifth of their examples (tests/depth.py). Each
# test file runs on one worker (--dist loadfile), so a module's fixtures (servers, databases,
# analyzers) start once, not once per worker: 2 min 05 s -> 1 min 37 s with PostgreSQL and Redis.
test-fast: setup-dev
	SOTONG_TEST_QUICK=1 $(BIN)/python -m pytest -q -m "not integration" -n 2 --dist loadfile tests

# ruff (rules and formatting) and mypy, configured in pyproject.toml.
lint: setup-dev
	@scripts/lint.sh

validate: setup
	$(RASA) data validate --config config.yml --domain domain.yml --data data
	$(BIN)/python -m bot.trainer.lint

eval: model
	$(BIN)/python -m bot.trainer.evaluate tests/nlu_holdout.yml tests/nlu_realistic.yml --out reports

# Staff accounts (one per role, one-time passwords printed) and sample tickets in the embedded
# database, with or without `make run` running; ARGS=--reset-passwords for new passwords.
demo: setup
	@. scripts/secrets.sh && ensure_sotong_secrets var $(BIN)/python >/dev/null && $(BIN)/python -m bot.ops.demo $(ARGS)

chat: setup
	$(BIN)/python -m bot.ops.simulator $(ARGS)

bench: model
	$(BIN)/python bench/nlu_compare.py

# Load over the Kakao and REST channels of a server started with `make run` (or `make run-prod`);
# e.g. ARGS="--think-seconds 3" for users who read and type between messages.
bench-kakao: setup
	$(BIN)/python bench/kakao_load.py --base-url http://127.0.0.1:5005 --users 50 --messages 10 --rounds 2 --json-out reports/kakao_load.json $(ARGS)

clean-models:
	rm -f models/*.tar.gz

# One Rasa process versus the load-balanced set, in one run (needs PostgreSQL and Redis).
bench-cluster: model
	$(BIN)/python bench/cluster_load.py --start --model $$(ls -t models/*.tar.gz | head -n 1) --postgres-url $${SOTONG_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} --redis-url $${SOTONG_TEST_REDIS_URL:-redis://127.0.0.1:6379/0} --json-out reports/cluster_load.json

# Twelve simultaneous 2,000-character Kakao messages (starts and stops its own stack).
bench-long: model
	$(BIN)/python bench/long_messages.py --json-out reports/long_messages.json $(ARGS)

# A from-scratch `rasa train` with the time of each component (empty cache, temporary folder).
bench-train: setup
	$(BIN)/python bench/train_time.py --json-out reports/train_time.json $(ARGS)

# RSS of a Rasa process and the action server after load and after traffic, one row per variant of
# settings (starts and stops its own stack; bench/README.md).
bench-memory: model
	$(BIN)/python bench/memory.py --json-out reports/memory.json $(ARGS)

# Issue 16's flood: 200 citizens report one underpass within a minute (own stack, test model).
bench-flood: setup
	$(BIN)/python bench/flood.py $(ARGS)

.PHONY: bench-turn bench-quick
# Where a turn's time goes: Sotong's Kakao path and stock Rasa's REST channel on the same model, in
# one run (starts and stops its own action server and two Rasa processes, newest model): the stage
# table and the ratios to the peer and to the NLU parse alone (bench/README.md).
bench-turn: model
	$(BIN)/python bench/turn_cost.py --json-out reports/turn_cost.json $(ARGS)

# The regression guard of a turn's cost: the same, with 20 turns per path; prints the ratios.
bench-quick: model
	$(BIN)/python bench/turn_cost.py --citizens 2 --slices 2 --parse-rounds 1 $(ARGS)
