"""The README's pytest-qt example is the automation contract in use: run it as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from desktop.secrets.store import KeyringSecretStore

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs_as_written(
    qtbot: Any, tmp_path: Path, keyring_store: KeyringSecretStore
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    example = next(block for block in blocks if "build_main_window" in block)
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    namespace["test_deactivate"](qtbot, tmp_path)
