"""Reorganisations: find the common ancestor with the node's chain and roll the mirror back to it.

The mirror keeps the headers of every block inside the reorg window (and of every block that
carries events), so the ancestor is the highest stored block whose hash the node still
reports. Rolling back deletes every row of a ledger entry past the ancestor and recomputes
the projections those entries touched from what remains — the same values a from-scratch
index of the surviving events gives. All of it happens in one transaction; a reorg deeper
than the window raises ``ReorgTooDeepError`` before anything is written.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from indexer.db import Store
from indexer.errors import ReorgTooDeepError, RpcError
from indexer.handlers import ProjectState, ServiceState, deadline_of
from indexer.rpc import RpcClient
from indexer.workdays import bangkok_date

log = logging.getLogger("govledger.indexer.reorg")


def window_floor(head: int, window: int) -> int:
    """The lowest block whose header the mirror keeps below ``head`` although it holds no event:
    the ``window`` blocks a reorg may replace, and the ancestor it would roll back to. One rule
    for every run, so a mirror followed block by block keeps the same headers as a rebuild."""
    return head - window


def find_ancestor(store: Store, rpc: RpcClient, checkpoint: int, window: int, floor: int) -> tuple[int, str | None]:
    """The highest mirrored block the node still has, within ``window`` blocks of the checkpoint.

    ``floor`` is the block before the deployment: if the window reaches it, everything can be
    rolled back (returns ``floor``). Raises ReorgTooDeepError otherwise.
    """
    lowest = window_floor(checkpoint, window)
    stored = store.query(
        "SELECT number, hash FROM blocks WHERE number >= ? AND number <= ? ORDER BY number DESC",
        (max(lowest, floor + 1), checkpoint),
    )
    if stored:
        node_headers = rpc.headers([number for number, _ in stored])
        for (number, mirrored), header in zip(stored, node_headers, strict=True):
            if header is not None and header["hash"].lower() == mirrored:
                return number, mirrored
    if lowest <= floor:
        if floor < 0:
            return floor, None
        header = rpc.header(floor)
        if header is None:
            raise RpcError(f"the node does not have block {floor}, the block before the deployment")
        return floor, header["hash"].lower()
    raise ReorgTooDeepError(
        f"the chain was reorganised below block {lowest}: none of the mirrored blocks {lowest}..{checkpoint} "
        f"is on the node's chain any more, deeper than the reorg window of {window} blocks. "
        "The mirror was not changed; check the node, then re-index from scratch or raise the window."
    )


def rollback(store: Store, ancestor: int, ancestor_hash: str | None, chain_id: int, contract: str) -> int:
    """Roll the mirror back to the end of block ``ancestor`` inside the caller's transaction.

    Returns the number of ledger entries removed.
    """
    row = store.query_one("SELECT MAX(seq) FROM events WHERE block_number <= ?", (ancestor,))
    keep = int(row[0]) if row and row[0] is not None else 0
    removed = store.query("SELECT seq, event, fields FROM events WHERE seq > ? ORDER BY seq", (keep,))

    projects: set[str] = set()
    requests: set[str] = set()
    roles: set[tuple[str, str, int]] = set()
    for _, event, text in removed:
        fields = orjson.loads(text)
        if "project" in fields:
            projects.add(fields["project"])
        if event in ("RequestOpened", "RequestAdvanced"):
            requests.add(fields["tracking"])
        if event == "ServiceRoleSet":
            roles.add((fields["service"], fields["agency"], fields["role"]))

    for table in ("events", "disbursements", "reversals", "allocation_amendments", "request_transitions"):
        store.execute(f"DELETE FROM {table} WHERE seq > ?", (keep,))
    store.execute(
        "UPDATE disbursements SET reversed_by_seq = NULL, reversal_reason = NULL WHERE reversed_by_seq > ?", (keep,)
    )
    store.execute("DELETE FROM recorders WHERE added_seq > ?", (keep,))
    store.execute(
        "UPDATE recorders SET removed_seq = NULL, removed_block = NULL, removed_time = NULL WHERE removed_seq > ?",
        (keep,),
    )
    for table in ("agencies", "projects", "services"):
        store.execute(f"DELETE FROM {table} WHERE seq > ?", (keep,))
    store.execute("DELETE FROM requests WHERE opened_seq > ?", (keep,))
    store.execute("DELETE FROM blocks WHERE number > ?", (ancestor,))

    header = store.query_one("SELECT timestamp FROM blocks WHERE number = ?", (ancestor,))
    today = bangkok_date(int(header[0])).isoformat() if header else None

    for code in projects:
        _recompute_project(store, code)
    for tracking in requests:
        _recompute_request(store, tracking)
    for key in roles:
        _recompute_role(store, key, keep)
    if today is not None:
        store.execute(
            "UPDATE requests SET overdue = CASE WHEN deadline IS NOT NULL AND deadline < ? THEN ? ELSE ? END",
            (today, True, False),
        )

    store.execute("DELETE FROM ledger")
    last = store.query_one("SELECT seq, head, block_number FROM events WHERE seq = ?", (keep,))
    if last is not None:
        store.execute("INSERT INTO ledger (id, seq, head, block_number) VALUES (1, ?, ?, ?)", last)
    store.execute("DELETE FROM checkpoint")
    if ancestor_hash is not None:
        store.execute(
            "INSERT INTO checkpoint (id, chain_id, contract, block_number, block_hash) VALUES (1, ?, ?, ?, ?)",
            (chain_id, contract, ancestor, ancestor_hash),
        )
    log.warning("reorg rollback", extra={"ancestor": ancestor, "kept_seq": keep, "removed": len(removed)})
    return len(removed)


def _recompute_project(store: Store, code: str) -> None:
    row = store.query_one(
        "SELECT initial_allocation, seq, block_number, block_time FROM projects WHERE code = ?", (code,)
    )
    if row is None:
        return  # registered after the ancestor: already deleted
    initial, seq, block_number, block_time = row
    amended = store.query_one(
        "SELECT new_allocation FROM allocation_amendments WHERE project_code = ? ORDER BY seq DESC LIMIT 1", (code,)
    )
    allocation = int(amended[0]) if amended else int(initial)
    # Replayed one entry at a time as the handlers do, never SUM(): a gross total may be beyond
    # 64 bits (SQLite's SUM raises), and the handlers' marking of unheld totals is per entry.
    totals = ProjectState(code, "", 0, "", 0, allocation, *[0] * 12)
    for _, amount, is_reversal in store.query(
        "SELECT seq, amount, 0 FROM disbursements WHERE project_code = ?"
        " UNION ALL SELECT seq, amount, 1 FROM reversals WHERE project_code = ? ORDER BY 1",
        (code, code),
    ):
        if is_reversal:
            totals.reverse(int(amount))
        else:
            totals.disburse(int(amount))
    a_count = store.query_one("SELECT COUNT(*) FROM allocation_amendments WHERE project_code = ?", (code,))[0]
    last: Any = (seq, block_number, block_time)
    for table in ("disbursements", "reversals", "allocation_amendments"):
        found = store.query_one(
            f"SELECT seq, block_number, block_time FROM {table} WHERE project_code = ? ORDER BY seq DESC LIMIT 1",
            (code,),
        )
        if found is not None and found[0] > last[0]:
            last = found
    store.execute(
        "UPDATE projects SET allocation = ?, disbursed = ?, reversed = ?, net = ?, remaining = ?,"
        " disbursement_count = ?, reversal_count = ?, amendment_count = ?, last_activity_seq = ?,"
        " last_activity_block = ?, last_activity_time = ? WHERE code = ?",
        (
            allocation,
            totals.disbursed,
            totals.reversed,
            totals.net,
            totals.remaining(),
            totals.disbursement_count,
            totals.reversal_count,
            a_count,
            *last,
            code,
        ),
    )


def _service(store: Store, code: str) -> ServiceState:
    row = store.query_one("SELECT states, time_limit_days, roles, transitions FROM services WHERE code = ?", (code,))
    assert row is not None, "a request's service is defined before it"
    return ServiceState.of(code, *(orjson.loads(v) for v in row))


def _recompute_request(store: Store, tracking: str) -> None:
    row = store.query_one(
        "SELECT service_code, opened_seq, opened_time FROM requests WHERE tracking_code = ?", (tracking,)
    )
    if row is None:
        return
    service_code, opened_seq, opened_time = row
    service = _service(store, service_code)
    count = store.query_one("SELECT COUNT(*) FROM request_transitions WHERE tracking_code = ?", (tracking,))[0]
    last = store.query_one(
        "SELECT to_state, seq, block_time FROM request_transitions WHERE tracking_code = ? ORDER BY seq DESC LIMIT 1",
        (tracking,),
    )
    state, state_seq, state_time = last if last is not None else (0, opened_seq, opened_time)
    store.execute(
        "UPDATE requests SET state = ?, state_name = ?, terminal = ?, state_seq = ?, state_time = ?, deadline = ?,"
        " transition_count = ? WHERE tracking_code = ?",
        (
            state,
            service.state_name(state),
            state in service.terminal,
            state_seq,
            state_time,
            deadline_of(service, state, int(state_time)),
            count,
            tracking,
        ),
    )


def _recompute_role(store: Store, key: tuple[str, str, int], keep: int) -> None:
    service, agency, role = key
    store.execute("DELETE FROM service_roles WHERE service_code = ? AND agency_code = ? AND role = ?", key)
    latest = None
    for seq, block_number, text in store.query(
        "SELECT seq, block_number, fields FROM events WHERE event = 'ServiceRoleSet' AND seq <= ? ORDER BY seq",
        (keep,),
    ):
        fields = orjson.loads(text)
        if (fields["service"], fields["agency"], fields["role"]) == key:
            latest = (seq, block_number, fields["granted"])
    if latest is None:
        return
    definition = _service(store, service)
    store.execute(
        "INSERT INTO service_roles (service_code, agency_code, role, role_name, granted, seq, block_number)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (service, agency, role, definition.role_name(role), latest[2], latest[0], latest[1]),
    )
