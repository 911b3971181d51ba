"""The pose-package installer inside real Blender: install operator, activation, preferences drawing.

Two bpy sessions in one home (tests/blender_scenarios/pose_packages.py), each run once per module; each
test checks one behaviour of their results."""
import pytest

from blender_harness import run_scenario
from test_installer import make_wheel


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("pose_packages") / "home"


@pytest.fixture(scope="module")
def session_one(linux_zip, home):
    wheels = home.parent / "wheels"
    make_wheel(wheels, "otx_tiny_alpha", "1.0")
    make_wheel(wheels, "otx_tiny_beta", "0.5")
    return run_scenario("pose_packages", "install_check_and_draw", home, keep_extensions=True,
                        zip_path=str(linux_zip), wheels=str(wheels))


@pytest.fixture(scope="module")
def session_two(linux_zip, home, session_one):
    # a new Blender session finds the packages installed before, without installing again
    return run_scenario("pose_packages", "import_installed", home, zip_path=str(linux_zip))


@pytest.fixture(scope="module")
def tiny_labels(session_one):
    return [e for e in session_one["draw_tiny"] if e[0] == "label"]


def test_packages_go_into_the_extensions_own_folder_in_the_home(session_one, home):
    target = session_one["target"]
    assert target.startswith(str(home)) and target.endswith("pose_site_packages_py311")
    assert "/extensions/.user/user_default/omnitrax/" in target


def test_packages_are_not_importable_before_installing(session_one):
    assert session_one["importable_before"] is False


def test_install_operator_installs_and_activates_the_packages(session_one):
    assert session_one["result"] == ["FINISHED"]
    assert session_one["module_file"].startswith(session_one["target"]) and session_one["version"] == "1.0"


def test_a_failed_install_names_the_package_and_the_log(session_one):
    assert "otx_no_such_package" in session_one["failure"] and "see the log at" in session_one["failure"]


def test_check_operator_finishes(session_one):
    assert session_one["check"] == ["FINISHED"]


def test_preferences_list_installed_and_missing_packages(tiny_labels):
    assert ["label", "otx_tiny_alpha 1.0", "CHECKMARK"] in tiny_labels
    assert ["label", "otx_tiny_beta 0.5", "CHECKMARK"] in tiny_labels
    assert ["label", "otx_tiny_gamma: not installed (needs 3.0)", "X"] in tiny_labels


def test_preferences_show_the_folder_the_log_and_the_last_failure(tiny_labels, session_one):
    texts = [e[1] for e in tiny_labels]
    assert f"Folder: {session_one['target']}" in texts
    assert any(t.startswith("Log: ") and t.endswith("pose_install.log") for t in texts)
    assert any("otx_no_such_package" in t for t in texts)  # the last install's failure is shown


def test_preferences_offer_install_and_check(session_one):
    ops = [e for e in session_one["draw_tiny"] if e[0] == "operator"]
    assert ["operator", "omnitrax.install_pose_packages", True, "Install pose-estimation packages"] in ops
    assert ["operator", "omnitrax.check_pose_packages", True, "Check"] in ops


def test_default_preferences_list_the_pose_packages_and_blenders_numpy(session_one):
    default_texts = [e[1] for e in session_one["draw_default"] if e[0] == "label"]
    for name in ("deeplabcut-live", "tensorflow-cpu", "torch", "torchvision", "numpy"):
        assert any(t.startswith(name + " ") or t.startswith(name + ":") for t in default_texts), name
    assert "numpy 1.26.4" in default_texts  # Blender's own numpy, found first on sys.path


def test_unregister_removes_the_operator_and_the_packages_folder_from_sys_path(session_one):
    assert session_one["registered_after_unregister"] is False
    assert session_one["target_on_path_after_unregister"] is False


def test_a_new_session_finds_the_packages_installed_before(session_two, session_one):
    assert session_two["target_on_path"] is True and session_two["file"].startswith(session_one["target"])


def test_preferences_offer_the_accelerations_of_this_platform(session_one):
    assert session_one["accelerations"] == ["cpu", "cuda"]  # Linux x86_64 (the scenarios run there)
    assert session_one["acceleration_default"] == "cpu"
    assert ["prop", "pose_acceleration", True] in session_one["draw_default"]


def test_an_acceleration_this_platform_lacks_is_refused_in_one_line_before_pip_runs(session_one):
    refused = session_one["refused"]
    assert "Apple Core ML acceleration does not exist on Linux" in refused and "\n" not in refused.strip()
    assert session_one["pip_ran_for_refused"] is False


def test_the_package_list_follows_the_chosen_acceleration(session_one):
    cpu = [e[1:] for e in session_one["draw_default"] if e[0] == "label"]
    cuda = [e[1:] for e in session_one["draw_cuda"] if e[0] == "label"]
    assert ["onnxruntime 1.32.0", "CHECKMARK"] in cpu  # the test venv's own ONNX Runtime
    assert ["onnxruntime-gpu: not installed (needs 1.31.1)", "X"] in cuda
    assert not any(t.startswith("onnxruntime-gpu") for t, _ in cpu)


def test_the_device_line_shows_what_detection_runs_on(session_one):
    assert session_one["check_devices"] == ["FINISHED"]
    devices = [e[1] for e in session_one["draw_default"] if e[0] == "label" and e[1].startswith("Devices: ")]
    assert len(devices) == 1
    assert devices[0].startswith("Devices: CPU ") and "; onnxruntime 1.32.0: " in devices[0]
    assert "; OpenCV 4.11.0: no CUDA, " in devices[0]
