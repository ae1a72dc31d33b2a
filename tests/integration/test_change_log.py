"""The change log names a change made by another process: a window showing many tokens reads
only those rows again. (What it names in this process: tests/unit/services/test_reads.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from desktop.app import Context
from tests.helpers.directories import seed_alice

ROOT = Path(__file__).resolve().parents[2]


def test_a_change_by_another_process_is_logged(context: Context) -> None:
    service = seed_alice(context.service)
    token = service.create_token("Production", "alice").token.id
    cursor = service.change_cursor()
    script = (
        "import sys; from pathlib import Path; from desktop.app import open_context; "
        "from desktop.paths import database_url; "
        "ctx = open_context(Path(sys.argv[1]), need_keyring=False, database=database_url()); "
        "ctx.service.set_label(int(sys.argv[2]), 'from elsewhere'); ctx.close()"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(context.data_dir), str(token)],
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    changes = service.changes_since(cursor)
    assert changes.tokens == {token} and changes.complete
    assert service.token_rows([token])[0].label == "from elsewhere"
