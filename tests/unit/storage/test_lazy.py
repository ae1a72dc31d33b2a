"""A deferred module is imported by its first use, and is then the module itself."""

from __future__ import annotations

import subprocess
import sys
import threading

from desktop.storage.lazy import deferred


def test_the_module_is_imported_at_first_use_only() -> None:
    script = (
        "import sys\n"
        "from desktop.storage.lazy import deferred\n"
        "colorsys = deferred('colorsys')\n"
        "print('colorsys' in sys.modules)\n"
        "print(colorsys.rgb_to_hsv(1.0, 0.0, 0.0))\n"
        "print('colorsys' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["False", "(0.0, 1.0, 1.0)", "True"]


def test_attributes_are_the_modules_own_from_any_thread() -> None:
    import json

    module = deferred("json")
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(module.dumps)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [json.dumps] * 4
    assert "json" in repr(module)
