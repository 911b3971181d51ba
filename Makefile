# OmniTrax developer commands. Every target creates/updates the pinned venv first (a no-op when current).
PYTHON_BOOT := $(shell command -v python3.11 || command -v python3)
# Python 3.13 (Blender 5.1+): pyenv's, as on the CI machines (its python3.13 shim only works when 3.13 is
# pyenv's global version, so the interpreter is taken from pyenv's folder)
PYENV_ROOT ?= $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
PYTHON313 := $(or $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13)),python3.13)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements
VENV313 := .venv313
STAMP313 := $(VENV313)/.installed-requirements
VENV42 := .venv42
STAMP42 := $(VENV42)/.installed-requirements
VENV52 := .venv52
STAMP52 := $(VENV52)/.installed-requirements
# the core (bpy-free) tests, run again on Python 3.13 + numpy 2.x
CORE_TESTS := tests/test_tracker.py tests/test_kalman.py tests/test_stitching.py tests/test_track_io.py \
	tests/test_evaluate.py tests/test_video.py tests/test_testclips_ants.py tests/test_background.py tests/test_masks.py \
	tests/test_yolo.py tests/test_default_model.py tests/test_settings_file.py tests/test_settings_schema.py \
	tests/test_coords.py tests/test_datasets.py tests/test_preview.py tests/test_core_imports.py \
	tests/test_sample_tracking.py tests/test_pose_crops.py tests/test_pose_export.py tests/test_batch.py \
	tests/test_cli.py tests/test_compat_manifest.py tests/test_known_animals.py tests/test_testclips_boxes.py \
	tests/test_tracker_errors.py tests/test_cli_background.py tests/test_detect_preview.py tests/test_runtimes.py \
	tests/test_convert_darknet.py tests/test_image_sequences.py tests/test_units_and_classes.py tests/test_identity.py \
	tests/test_identity_parts.py

.PHONY: venv venv313 venv42 venv52 test demo zip bench clean

venv: $(STAMP)
venv313: $(STAMP313)
venv42: $(STAMP42)
venv52: $(STAMP52)

# the project itself is installed editable, so `.venv/bin/omnitrax` works from any folder
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@cp requirements.txt $(STAMP)

$(STAMP313): requirements-py313.txt pyproject.toml
	@test -x $(VENV313)/bin/python || $(PYTHON313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-py313.txt
	$(VENV313)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@cp requirements-py313.txt $(STAMP313)

$(STAMP42): requirements-blender42.txt
	@test -x $(VENV42)/bin/python || $(PYTHON_BOOT) -m venv $(VENV42)
	$(VENV42)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-blender42.txt
	@cp requirements-blender42.txt $(STAMP42)

$(STAMP52): requirements-blender52.txt
	@test -x $(VENV52)/bin/python || $(PYTHON313) -m venv $(VENV52)
	$(VENV52)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-blender52.txt
	@cp requirements-blender52.txt $(STAMP52)

# The full suite on the pinned bpy 5.0.1 (it includes the Blender 4.2 and 5.2 compatibility tests, which use
# .venv42 and .venv52: bpy and numpy only, as in Blender), then the core suite again on Python 3.13 + numpy 2.x.
# pytest exits 5 when it collects no tests; that is not a failure of the suite.
test: venv venv313 venv42 venv52
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc
	$(VENV313)/bin/python -m pytest -q -p no:cacheprovider $(CORE_TESTS)

demo: venv
	$(PY) tools/demo.py

zip: venv
	$(PY) tools/build_extension.py

bench: venv
	$(PY) tools/bench_tracker.py
	$(PY) tools/bench_tracker_errors.py
	$(PY) tools/bench_detection.py
	$(PY) tools/bench_background.py
	$(PY) tools/bench_markers.py
	$(PY) tools/bench_pose.py

clean:
	rm -rf build dist demo_output .pytest_cache
