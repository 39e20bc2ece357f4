"""The first page a class opens must not wait for torch: the entry script's imports leave it out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a fresh Python process
def test_the_entry_script_and_home_page_imports_do_not_load_torch():
    code = ("import sys; import ui.display, ui.guards, ui.nav, ui.resources, ui.presenter, rnnviz.structures; "
            "from ui import resources; resources.model_structures(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
