"""The seam is a checked rule: only portal.iotvideo imports the Tencent SDK, the portal apps
never import localcloud and localcloud never imports them."""
import shutil
import subprocess
import sys
from pathlib import Path

from tests.utils import subprocess_env

BASE_DIR = Path(__file__).resolve().parents[3]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint, "--no-logo", "--no-cache"], cwd=BASE_DIR, env=subprocess_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout
