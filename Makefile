# OmniTrax developer commands. Every target creates/updates the pinned venv first (a no-op when current).
PYTHON_BOOT := $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements

.PHONY: venv test demo zip bench clean

venv: $(STAMP)

# the project itself is installed editable, so `.venv/bin/omnitrax` works from any folder
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@cp requirements.txt $(STAMP)

# pytest exits 5 when it collects no tests; that is not a failure of the suite.
test: venv
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

demo: venv
	$(PY) tools/demo.py

zip: venv
	$(PY) tools/build_extension.py

bench: venv
	$(PY) tools/bench_tracker.py
	$(PY) tools/bench_detection.py
	$(PY) tools/bench_background.py
	$(PY) tools/bench_markers.py
	$(PY) tools/bench_pose.py

clean:
	rm -rf build dist demo_output .pytest_cache
