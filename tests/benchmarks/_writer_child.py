"""Another admin's process, for the propagation figure of ``run.py``: changes a token's label
each time it is asked, and says when the change committed.

    python tests/benchmarks/_writer_child.py DATA_DIR [--database URL]

Reads lines ``TOKEN_ID LABEL`` on stdin; for each, sets the label through the service (one
transaction, as the command line does) and prints ``committed UNIX_TIME`` once the commit has
returned. Ends at EOF.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find desktop

from desktop.app import open_context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--database", help="a PostgreSQL registry's URL")
    args = parser.parse_args(argv)
    context = open_context(
        args.data_dir, actor="bench-writer", need_keyring=False, database=args.database
    )
    try:
        print("ready", flush=True)
        for line in sys.stdin:
            token_id, label = line.split(maxsplit=1)
            context.service.set_label(int(token_id), label.strip())
            print(f"committed {time.time():.6f}", flush=True)
    finally:
        context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
