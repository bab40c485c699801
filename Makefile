# Mikrogranty: `make run` starts the demo, `make test` runs the whole test suite.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PO := $(wildcard translations/*/LC_MESSAGES/messages.po) $(wildcard plugins/*/translations/*/LC_MESSAGES/messages.po) $(wildcard tests/sample_plugin/mikrogranty_sample/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
PORT ?= 5000
DEMO_ENV := DEMO=1 PUBLIC_PORT=$(PORT) PREFERRED_URL_SCHEME=http MAIL_BACKEND=outbox

.PHONY: run test install translations extract bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

translations: $(MO)

extract: $(STAMP)
	$(BIN)/pybabel extract -F translations/babel.cfg -k _l -k lazy_gettext --no-location --sort-output --omit-header -o translations/messages.pot core
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --omit-header --no-wrap

instance/secret_key:
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@

run: install instance/secret_key
	$(DEMO_ENV) $(BIN)/flask --app core db upgrade
	$(DEMO_ENV) $(BIN)/flask --app core tenants sync
	$(DEMO_ENV) $(BIN)/flask --app core demo seed
	@echo ""
	@echo "Operator's console: http://localhost:$(PORT)   Demo sites: http://lubochnia.localhost:$(PORT) …"
	@echo "E-mails go to the outbox: http://localhost:$(PORT)/outbox/"
	SECRET_KEY=$$(cat instance/secret_key) $(DEMO_ENV) $(BIN)/flask --app core run --host 127.0.0.1 --port $(PORT)

test: install
	@scripts/ensure-test-services.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance/*.sqlite $(MO)
