"""Test-session setup shared by every test folder.

Test folders mirror the packages, so ``tests/sandbox/`` shares its name with the top-level
``sandbox`` package. pytest puts ``tests/`` on ``sys.path`` (rootdir import mode) before this
file is imported, and an editable install's finder comes after the path finder, so a plain
``import sandbox`` could bind the empty test folder as a namespace package. Importing the real
package here, from the checkout, binds the name once for the whole session.
"""

import importlib.util
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if "sandbox" not in sys.modules or not hasattr(sys.modules["sandbox"], "SandboxPool"):
    _spec = importlib.util.spec_from_file_location(
        "sandbox",
        _ROOT / "sandbox" / "__init__.py",
        submodule_search_locations=[str(_ROOT / "sandbox")],
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["sandbox"] = _module
    _spec.loader.exec_module(_module)
