"""An indexer process for the crash tests: `python -m tests.indexer.child RPC DB DEPLOYMENT.json`.

Small block ranges make many batches, so that GOVLEDGER_TEST_KILL_AT=<point>:<n> has many
places to strike (after_fetch, in_transaction, after_commit).
"""

from __future__ import annotations

import sys
from pathlib import Path

from indexer.sync import index_once
from ledger.deployment import load_deployment


def main() -> None:
    rpc_url, database_url, deployment_path = sys.argv[1:4]
    result = index_once(
        rpc_url, database_url, load_deployment(Path(deployment_path)), initial_span=1, max_span=1, reorg_window=16
    )
    print(f"done {result.block_number} {result.batches}")


if __name__ == "__main__":
    main()
