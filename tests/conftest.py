import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture(scope="session")
def extension_zips(tmp_path_factory):
    """The four platform zips, built from this checkout with Blender's builder and validated."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_extension.py"), "--out", str(out)],
                   check=True, capture_output=True)
    return {z.stem.rsplit("-", 1)[1]: z for z in out.glob("omnitrax-*.zip")}


@pytest.fixture(scope="session")
def linux_zip(extension_zips):
    return extension_zips["linux_x64"]
