# Sotong — see README.md. `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RASA := $(BIN)/rasa
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: setup train model run test validate eval chat bench clean-models

setup:
	@scripts/setup.sh

# Trains a model from config.yml, domain.yml and data/ (Rasa reuses cached parts).
train: setup
	$(RASA) train --config config.yml --domain domain.yml --data data --out models

# Trains only when models/ holds no model yet.
model: setup
	@ls models/*.tar.gz >/dev/null 2>&1 || $(MAKE) train

run: model
	@scripts/run.sh

test: setup
	$(BIN)/python -m pytest -q tests

validate: setup
	$(RASA) data validate --config config.yml --domain domain.yml --data data --fail-on-warnings
	$(BIN)/python -m bot.trainer.lint

eval: model
	$(BIN)/python -m bot.trainer.evaluate --holdout tests/nlu_holdout.yml --out reports

chat: setup
	$(BIN)/python -m bot.simulator $(ARGS)

bench: model
	$(BIN)/python bench/nlu_compare.py

clean-models:
	rm -f models/*.tar.gz
