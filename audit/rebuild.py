"""Helper process of `audit verify`: rebuild the mirror from a bundle and save its snapshot.

    python -m audit.rebuild BUNDLE_DIR DATABASE_URL SNAPSHOT_FILE [HEIGHT]

Run by ``audit.compare.MirrorRebuild`` beside the other checks, so that the indexer's
work uses the second core. A plain subprocess, not multiprocessing: it never re-imports the
caller's main module.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from audit.compare import rebuild_and_read

    directory, database_url, out = argv[:3]
    snapshot = rebuild_and_read(directory, database_url, int(argv[3]) if len(argv) > 3 else None)
    Path(out).write_bytes(pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
