"""Typed client of the GovLedger contract: the only code in govledger that sends transactions.

Transactions are signed locally (eth-account) and sent raw over standard JSON-RPC, so any
EVM node works (anvil in development, Besu/QBFT or geth in a consortium). Nonces are kept
locally, which lets a batch import keep several transactions in flight before it waits
for their receipts.

Errors cross into ``LedgerError`` at one place, :meth:`LedgerClient._raise_revert`: the
revert data's 4-byte selector is looked up among the ABI's custom errors and the decoded
values build the message (``OverBudgetError`` knows project, remaining and requested).
A transaction that reverts or never mines is reported with its hash.

    client = LedgerClient.from_settings(get_settings())
    client.register_agency("MOE", "กระทรวงศึกษาธิการ")
    client.disburse(Disbursement("MOE-2568-001", 1_500_00, "SUP-1", "PV-0001"))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger import errors
from ledger.abi import ContractAbi
from ledger.artifacts import load_artifact
from ledger.deployment import Deployment, load_deployment
from ledger.errors import (
    ChainMismatchError,
    DisbursementUnknownError,
    LedgerError,
    RpcError,
    TransactionRevertedError,
    TransactionTimeoutError,
)
from ledger.refusals import ROLES, describe_refusal
from ledger.rpc import JsonRpc
from ledger.settings import Settings
from ledger.types import decode_code, encode_code, encode_tracking
from ledger.values import (
    ZERO32,
    Disbursement,
    DisbursementState,
    ProjectSpec,
    ProjectState,
    RecordedDisbursement,
    RequestState,
    TxResult,
    within_cap,
)

# --------------------------------------------------------------------------- the node's revert data


def _revert_data(data: Any) -> str | None:
    """The revert data inside a JSON-RPC error's ``data``, in each shape the common nodes send:

    - ``"0x…"``: geth, anvil, Besu, Erigon; Hardhat and Ganache 7 for eth_call;
    - ``{"message": …, "data": "0x…"}``: Hardhat 2 (EDR);
    - ``{"hash": …, "programCounter": …, "result": "0x…", "reason": …, "message": "revert"}``:
      Ganache 7 for eth_estimateGas and transactions (RuntimeError);
    - ``{"0x<tx hash>": {"error": "revert", "program_counter": …, "return": "0x…", "reason": …},
      "stack": …, "name": "RuntimeError"}``: Ganache 6 / ganache-core, one entry per transaction.
    """
    if isinstance(data, str):
        return data if data.startswith("0x") else None
    if not isinstance(data, dict):
        return None
    for key in ("data", "result"):
        found = _revert_data(data.get(key))
        if found is not None:
            return found
    for key, entry in data.items():
        if isinstance(key, str) and key.startswith("0x") and isinstance(entry, dict):
            found = _revert_data(entry.get("return"))
            if found is not None:
                return found
    return None


def _revert(error: RpcError) -> bytes | None:
    """The revert data of a node's error, or None when the error is not a revert."""
    data = _revert_data(error.data)
    if data is not None:
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            pass
    # Code 3 is "execution reverted" in the Ethereum JSON-RPC spec; no data means no reason.
    if error.code == 3:
        return b""
    return None


def _hex(value: int) -> str:
    return hex(value)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


class LedgerClient:
    """Calls and transactions of one GovLedger deployment, signed by one local account.

    Args:
        transport: the node (``JsonRpc`` for a node URL; anything with its ``call`` and ``batch``).
        address: the contract address (None before deploying).
        account: the signing account; reads work without one.
        chain_id: checked against the node when given (a deployment is tied to its chain).
        timeout: seconds to wait for a transaction to be mined before reporting its hash.
    """

    BATCH_SIZE = 500
    PREFLIGHT_ITEMS = 50
    IN_FLIGHT = 8

    def __init__(
        self,
        transport: JsonRpc,
        address: str | None,
        account: LocalAccount | None = None,
        *,
        chain_id: int | None = None,
        deploy_block: int = 0,
        timeout: float = 120.0,
        poll_interval: float = 0.05,
    ) -> None:
        self.transport = transport
        self.address = to_checksum_address(address) if address else None
        self.account = account
        self.abi = ContractAbi(load_artifact()["abi"])
        self.deploy_block = deploy_block
        self.timeout = timeout
        self.poll_interval = poll_interval
        node_chain = _int(self._rpc("eth_chainId", []))
        if chain_id is not None and chain_id != node_chain:
            raise ChainMismatchError(
                f"the node serves chain {node_chain}, the deployment is on chain {chain_id}; check GOVLEDGER_RPC_URL"
            )
        self.chain_id = node_chain
        self._nonce: int | None = None
        self._agency: str | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        signer: bool = True,
        allow_dev_key: bool = False,
        deployment: Deployment | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> LedgerClient:
        """The client the settings describe: RPC URL, deployment file and signing key.

        ``signer=False`` gives a read-only client (no key is loaded).
        """
        from ledger.keys import load_account, warn_stderr

        deployment = deployment or load_deployment(settings.deployment)
        transport = cls.node(settings.rpc_url)
        client = cls(
            transport, deployment.address, None, chain_id=deployment.chain_id, deploy_block=deployment.deploy_block
        )
        if signer:
            client.account = load_account(
                settings, chain_id=client.chain_id, allow_dev_key=allow_dev_key, warn=warn or warn_stderr
            )
        return client

    @staticmethod
    def node(url: str) -> JsonRpc:
        """The node as a command reaches it: few attempts, since a person waits for the answer
        and a send is not retried blindly for long."""
        return JsonRpc(url, timeout=60.0, attempts=3)

    @property
    def sender(self) -> str:
        if self.account is None:
            raise errors.SigningKeyError("this command needs a signing key (GOVLEDGER_KEYSTORE)")
        return str(self.account.address)

    # ------------------------------------------------------------------ the error boundary

    def _raise_revert(self, data: bytes, tx_hash: str | None, what: str) -> None:
        """Turn revert data into the matching LedgerError; the one place this happens."""
        decoded = self.abi.decode_error(data)
        if decoded is None:
            detail = f"{what} reverted" + (
                f" (unknown revert data 0x{data.hex()[:72]})" if data else " without a reason"
            )
            if tx_hash:
                raise TransactionRevertedError(f"{detail}; transaction {tx_hash}", tx_hash)
            raise LedgerError(detail)
        name, values = decoded
        cls, message = describe_refusal(name, values)
        if tx_hash:
            message += f" (transaction {tx_hash})"
        raise cls(message, name, values, tx_hash)

    def _rpc(self, method: str, params: list[Any], what: str = "call") -> Any:
        try:
            return self.transport.call(method, params)
        except RpcError as exc:
            self._raise_error(exc, None, what)

    def _raise_error(self, error: RpcError, tx_hash: str | None, what: str) -> None:
        """Raise a node's error: decoded when it is a revert, as the node's error otherwise."""
        data = _revert(error)
        if data is not None:
            self._raise_revert(data, tx_hash, what)
        raise error

    # ------------------------------------------------------------------ reads

    def call(self, name: str, *args: Any, block: str | int = "latest") -> tuple[Any, ...]:
        """eth_call of a view function; returns the decoded outputs."""
        tx = {"to": self.address, "data": "0x" + self.abi.encode(name, *args).hex()}
        if self.account is not None:
            tx["from"] = self.account.address
        tag = block if isinstance(block, str) else _hex(block)
        result = self._rpc("eth_call", [tx, tag], name)
        return self.abi.decode_output(name, bytes.fromhex(result[2:]))

    def call_many(self, calls: Sequence[tuple[str, tuple[Any, ...]]], chunk: int = 500) -> list[tuple[Any, ...]]:
        """Several view calls in JSON-RPC batches (one round trip per ``chunk``)."""
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(calls), chunk):
            part = calls[start : start + chunk]
            requests = [
                ("eth_call", [{"to": self.address, "data": "0x" + self.abi.encode(n, *a).hex()}, "latest"])
                for n, a in part
            ]
            for (name, _), result in zip(part, self.transport.batch(requests), strict=True):
                if isinstance(result, RpcError):
                    self._raise_error(result, None, name)
                out.append(self.abi.decode_output(name, bytes.fromhex(result[2:])))
        return out

    def code_at(self, address: str) -> bytes:
        return bytes.fromhex(self._rpc("eth_getCode", [address, "latest"])[2:])

    def block_number(self) -> int:
        return _int(self._rpc("eth_blockNumber", []))

    def ledger_head(self) -> tuple[int, bytes]:
        seq, head = self.call("ledgerHead")
        return int(seq), bytes(head)

    def agency_exists(self, agency: str) -> bool:
        return bool(self.call("agencyExists", encode_code(agency, "agency code"))[0])

    def agency_of(self, address: str) -> str | None:
        raw = bytes(self.call("agencyOf", to_checksum_address(address))[0])
        return None if raw == ZERO32 else decode_code(raw)

    def my_agency(self) -> str:
        """The agency the signing key records for; refuses a key that records for none."""
        if self._agency is None:
            agency = self.agency_of(self.sender)
            if agency is None:
                raise errors.AccessDeniedError(
                    f"key {self.sender} is not a recorder of any agency; ask the registrar to run "
                    "`govledger agency recorder add`",
                    "RecorderUnknown",
                    (self.sender,),
                )
            self._agency = agency
        return self._agency

    def project(self, code: str) -> ProjectState | None:
        """A project's state, or None when no project has the code."""
        try:
            agency, year, allocation, net = self.call("project", encode_code(code, "project code"))
        except errors.ProjectUnknownError:
            return None
        return ProjectState(code, decode_code(bytes(agency)), int(year), int(allocation), int(net))

    def projects(self, codes: Sequence[str]) -> dict[str, ProjectState | None]:
        """Several projects in JSON-RPC batches; None for unknown codes."""
        out: dict[str, ProjectState | None] = {}
        codes = list(dict.fromkeys(codes))
        for start in range(0, len(codes), 500):
            part = codes[start : start + 500]
            requests = [
                (
                    "eth_call",
                    [{"to": self.address, "data": "0x" + self.abi.encode("project", encode_code(c)).hex()}, "latest"],
                )
                for c in part
            ]
            for code, result in zip(part, self.transport.batch(requests), strict=True):
                if isinstance(result, RpcError):
                    data = _revert(result)
                    decoded = self.abi.decode_error(data) if data is not None else None
                    if decoded and decoded[0] == "ProjectUnknown":
                        out[code] = None
                        continue
                    self._raise_error(result, None, "project")
                agency, year, allocation, net = self.abi.decode_output("project", bytes.fromhex(result[2:]))
                out[code] = ProjectState(code, decode_code(bytes(agency)), int(year), int(allocation), int(net))
        return out

    def disbursement(self, agency: str, voucher: str) -> DisbursementState | None:
        seq, project, amount, reversed_ = self.call(
            "disbursement", encode_code(agency, "agency code"), encode_code(voucher, "voucher")
        )
        if int(seq) == 0:
            return None
        return DisbursementState(int(seq), decode_code(bytes(project)), int(amount), bool(reversed_))

    def disbursements(
        self, agency: str, vouchers: Sequence[str], chunk: int = 500
    ) -> dict[str, DisbursementState | None]:
        """The on-chain state of many vouchers of one agency (``disbursement`` calls, JSON-RPC batches).

        An import checks every row this way, so the calls are encoded and decoded by slicing
        32-byte words (all arguments and results are static) rather than through eth-abi.
        """
        selector = "0x" + self.abi.functions["disbursement"].selector.hex() + encode_code(agency, "agency code").hex()
        unique = list(dict.fromkeys(vouchers))
        out: dict[str, DisbursementState | None] = {}
        for start in range(0, len(unique), chunk):
            part = unique[start : start + chunk]
            requests = [
                ("eth_call", [{"to": self.address, "data": selector + encode_code(v, "voucher").hex()}, "latest"])
                for v in part
            ]
            for voucher, result in zip(part, self.transport.batch(requests), strict=True):
                if isinstance(result, RpcError):
                    self._raise_error(result, None, "disbursement")
                # seq | projectCode | amount | reversed, one 64-hex-digit word each after "0x".
                seq = int(result[2:66], 16)
                out[voucher] = (
                    None
                    if seq == 0
                    else DisbursementState(
                        seq,
                        decode_code(bytes.fromhex(result[66:130])),
                        int(result[130:194], 16),
                        int(result[194:258], 16) != 0,
                    )
                )
        return out

    def request_state(self, tracking_code: str) -> RequestState | None:
        try:
            service, agency, state = self.call("request", encode_tracking(tracking_code))
        except errors.RequestUnknownError:
            return None
        if bytes(service) == ZERO32:
            return None
        return RequestState(tracking_code, decode_code(bytes(service)), decode_code(bytes(agency)), int(state))

    def has_role(self, role: str, address: str) -> bool:
        return bool(self.call("hasRole", ROLES[role], to_checksum_address(address))[0])

    def find_disbursement(self, seq: int) -> RecordedDisbursement:
        """The disbursement whose public id (ledger seq) is ``seq``, through eth_getLogs.

        The seq is the first indexed topic of DisbursementRecorded, so the node filters for us.
        """
        event = self.abi.events["DisbursementRecorded"]
        logs = self._rpc(
            "eth_getLogs",
            [
                {
                    "address": self.address,
                    "fromBlock": _hex(self.deploy_block),
                    "toBlock": "latest",
                    "topics": ["0x" + event.topic0.hex(), "0x" + seq.to_bytes(32, "big").hex()],
                }
            ],
            "getLogs",
        )
        logs = [log for log in logs or [] if not log.get("removed")]
        if not logs:
            raise DisbursementUnknownError(
                f"no disbursement has id {seq} (ids are ledger sequence numbers of DisbursementRecorded entries)",
                "DisbursementUnknown",
                (seq,),
            )
        return self._recorded(logs[0])

    def _recorded(self, log: dict[str, Any]) -> RecordedDisbursement:
        # voucher | amount | payee | documentHash | requestTracking | head: six static words, sliced
        # directly (a re-run of an import reads one event per row; eth-abi is the slow part).
        data = bytes.fromhex(log["data"][2:])
        if len(data) != 6 * 32:
            raise RpcError(f"a DisbursementRecorded log has {len(data)} data bytes, not 192")
        return RecordedDisbursement(
            seq=_int(log["topics"][1]),
            project=decode_code(bytes.fromhex(log["topics"][2][2:])),
            agency=decode_code(bytes.fromhex(log["topics"][3][2:])),
            voucher=decode_code(data[0:32]),
            amount=int.from_bytes(data[32:64], "big"),
            payee=decode_code(data[64:96]),
            tx_hash=log["transactionHash"],
            block_number=_int(log["blockNumber"]),
            document_hash=data[96:128],
            request=data[128:160],
        )

    def recorded_disbursements(self, seqs: Sequence[int], chunk: int = 500) -> dict[int, RecordedDisbursement]:
        """The DisbursementRecorded events of many seqs: what each payment recorded in full
        (the contract's ``disbursement`` view keeps only project and amount). One eth_getLogs
        per ``chunk`` seqs, the seq topic given as a list of alternatives (kept well under the
        caps some nodes put on alternatives per topic position)."""
        topic0 = "0x" + self.abi.events["DisbursementRecorded"].topic0.hex()
        unique = sorted(set(seqs))
        out: dict[int, RecordedDisbursement] = {}
        for start in range(0, len(unique), chunk):
            wanted = ["0x" + seq.to_bytes(32, "big").hex() for seq in unique[start : start + chunk]]
            query = {"address": self.address, "fromBlock": _hex(self.deploy_block), "toBlock": "latest"}
            logs = self._rpc("eth_getLogs", [{**query, "topics": [topic0, wanted]}], "getLogs")
            for log in logs or []:
                if not log.get("removed"):
                    found = self._recorded(log)
                    out[found.seq] = found
        return out

    # ------------------------------------------------------------------ sending

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = _int(self._rpc("eth_getTransactionCount", [self.sender, "pending"]))
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def _fees(self) -> dict[str, int]:
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        base_fee = block.get("baseFeePerGas")
        if base_fee is None:  # a chain without EIP-1559 (e.g. a free-gas consortium)
            return {"gasPrice": _int(self._rpc("eth_gasPrice", []))}
        try:
            tip = _int(self.transport.call("eth_maxPriorityFeePerGas", []))
        except RpcError:
            tip = 0
        # Twice the base fee absorbs several full blocks in a row (each may raise it 12.5%).
        return {"maxFeePerGas": 2 * _int(base_fee) + tip, "maxPriorityFeePerGas": tip}

    def block_gas_limit(self) -> int:
        return _int(self._rpc("eth_getBlockByNumber", ["latest", False])["gasLimit"])

    def estimate(self, data: bytes, what: str, to: str | None = None) -> int:
        """eth_estimateGas as a preflight: a refusal comes back as the decoded contract error."""
        tx: dict[str, Any] = {"from": self.sender, "data": "0x" + data.hex()}
        if to or self.address:
            tx["to"] = to or self.address
        return _int(self._rpc("eth_estimateGas", [tx], what))

    def _sign(self, data: bytes, gas: int, fees: dict[str, int], to: str | None) -> tuple[str, str]:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": self._next_nonce(),
            "gas": gas,
            "data": data,
            "value": 0,
            **fees,
        }
        if to:
            tx["to"] = to
        assert self.account is not None
        signed = self.account.sign_transaction(tx)
        return "0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex()

    def _send_signed(self, raws: list[tuple[str, str]]) -> None:
        results = self.transport.batch([("eth_sendRawTransaction", [raw]) for raw, _ in raws])
        for (_, tx_hash), result in zip(raws, results, strict=True):
            if isinstance(result, RpcError):
                # The local nonce may now have a gap; read it again next time.
                self._nonce = None
                data = _revert(result)
                if data is not None:
                    self._raise_revert(data, tx_hash, "transaction")
                raise RpcError(f"the node refused transaction {tx_hash}: {result}")

    def _await(self, pending: list[tuple[str, dict[str, Any]]], *, check: bool = True) -> list[dict[str, Any]]:
        """Wait for the receipts of (tx hash, tx) pairs; decode and raise the first failure."""
        receipts: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + self.timeout
        # A dev chain mines within milliseconds, a consortium chain within seconds: start
        # polling fast and back off to poll_interval.
        pause = min(0.001, self.poll_interval)
        while len(receipts) < len(pending):
            waiting = [h for h, _ in pending if h not in receipts]
            for tx_hash, result in zip(
                waiting, self.transport.batch([("eth_getTransactionReceipt", [h]) for h in waiting]), strict=True
            ):
                if isinstance(result, Exception):
                    raise result
                if result is not None:
                    receipts[tx_hash] = result
            if len(receipts) < len(pending):
                if time.monotonic() > deadline:
                    missing = next(h for h, _ in pending if h not in receipts)
                    self._nonce = None
                    raise TransactionTimeoutError(
                        f"transaction {missing} was not mined within {self.timeout:.0f}s; "
                        "it may still be mined: check it before sending again",
                        missing,
                    )
                time.sleep(pause)
                pause = min(pause * 2, self.poll_interval)
        ordered = [receipts[h] for h, _ in pending]
        if check:
            self._check_receipts(pending, ordered)
        return ordered

    def _check_receipts(self, pending: list[tuple[str, dict[str, Any]]], receipts: list[dict[str, Any]]) -> None:
        """Raise the decoded failure of the first failed transaction, if any."""
        for (tx_hash, tx), receipt in zip(pending, receipts, strict=True):
            if _int(receipt["status"]) != 1:
                self._explain_failure(tx_hash, tx, receipt)

    def _explain_failure(self, tx_hash: str, tx: dict[str, Any], receipt: dict[str, Any]) -> None:
        """Replay a failed transaction as eth_call on its parent block to read the revert data."""
        gas_used = _int(receipt["gasUsed"])
        if gas_used >= tx["gas"]:
            raise TransactionRevertedError(f"transaction {tx_hash} ran out of gas ({gas_used} used)", tx_hash)
        call = {"from": self.sender, "data": tx["data"], "gas": _hex(tx["gas"])}
        if tx.get("to"):
            call["to"] = tx["to"]
        parent = _hex(_int(receipt["blockNumber"]) - 1)
        try:
            self.transport.call("eth_call", [call, parent])
        except RpcError as exc:
            data = _revert(exc)
            if data is None:
                raise
            self._raise_revert(data, tx_hash, "transaction")
        raise TransactionRevertedError(f"transaction {tx_hash} reverted (the replay did not reproduce why)", tx_hash)

    def _result(self, receipt: dict[str, Any]) -> TxResult:
        seqs = [
            _int(log["topics"][1])
            for log in receipt.get("logs", [])
            if self.address
            and log["address"].lower() == self.address.lower()
            and len(log["topics"]) > 1
            and log["topics"][0] in self._our_topics
        ]
        return TxResult(
            tx_hash=receipt["transactionHash"],
            block_number=_int(receipt["blockNumber"]),
            gas_used=_int(receipt["gasUsed"]),
            seqs=seqs,
            contract_address=receipt.get("contractAddress"),
        )

    @property
    def _our_topics(self) -> set[str]:
        # Every event of ours starts with `uint64 indexed seq`; OpenZeppelin's role events do not.
        if not hasattr(self, "_topics_cache"):
            self._topics_cache = {
                "0x" + e.topic0.hex() for e in self.abi.events.values() if e.indexed[:1] == ("uint64",)
            }
        return self._topics_cache

    def transact(self, name: str, *args: Any, gas: int | None = None) -> TxResult:
        """Preflight, sign, send and await one contract call."""
        data = self.abi.encode(name, *args)
        return self.send_data(data, name, gas=gas)

    def send_data(self, data: bytes, what: str, *, gas: int | None = None, to: str | None = None) -> TxResult:
        target = to or self.address
        if gas is None:
            gas = self.estimate(data, what, target) * 6 // 5 + 10_000
        raw, tx_hash = self._sign(data, gas, self._fees(), target)
        self._send_signed([(raw, tx_hash)])
        (receipt,) = self._await([(tx_hash, {"data": "0x" + data.hex(), "gas": gas, "to": target})])
        return self._result(receipt)

    def send_pipelined(
        self,
        payloads: Sequence[tuple[bytes, int]],
        *,
        in_flight: int | None = None,
        on_confirmed: Callable[[int, TxResult], None] | None = None,
    ) -> list[TxResult]:
        """Send (calldata, gas) transactions with up to ``in_flight`` unconfirmed at once.

        Transactions are signed with consecutive local nonces and sent as one JSON-RPC batch
        per window (at most ``in_flight`` and at most one block's gas limit); the window's
        receipts are awaited before the next window goes out, so a failure stops the run after
        at most one window (later nonces are never signed).
        ``on_confirmed(index, result)`` runs for each success in order.
        """
        window = max(1, in_flight or self.IN_FLIGHT)
        limit = self.block_gas_limit()
        results: list[TxResult] = []
        start = 0
        while start < len(payloads):
            # What is in flight must fit in one block together: a node that mines on arrival
            # (anvil's automine) otherwise leaves the overflow pending until the next arrival.
            end, gas_sum = start, 0
            while (
                end < len(payloads) and end - start < window and (end == start or gas_sum + payloads[end][1] <= limit)
            ):
                gas_sum += payloads[end][1]
                end += 1
            fees = self._fees()
            part = payloads[start:end]
            signed = [self._sign(data, gas, fees, self.address) for data, gas in part]
            self._send_signed(signed)
            pending = [
                (tx_hash, {"data": "0x" + data.hex(), "gas": gas, "to": self.address})
                for (_, tx_hash), (data, gas) in zip(signed, part, strict=True)
            ]
            receipts = self._await(pending, check=False)
            # Report every success of the window (they are on chain) before raising a failure.
            for i, receipt in enumerate(receipts):
                if _int(receipt["status"]) == 1:
                    result = self._result(receipt)
                    results.append(result)
                    if on_confirmed:
                        on_confirmed(start + i, result)
            if any(_int(r["status"]) != 1 for r in receipts):
                self._nonce = None  # later nonces of the window may be unused or consumed
                self._check_receipts(pending, receipts)
            start = end
        return results

    # ------------------------------------------------------------------ deployment

    def deploy(self, admin: str | None = None, admin_delay: int = 0) -> TxResult:
        """Deploy GovLedger signed by this client's key; the key (or ``admin``) becomes admin."""
        artifact = load_artifact()
        admin = to_checksum_address(admin or self.sender)
        data = bytes.fromhex(artifact["bytecode"][2:]) + abi_encode(["uint48", "address"], [admin_delay, admin])
        result = self.send_data(data, "deploy", to=None)
        if not result.contract_address:
            raise TransactionRevertedError(f"deploy transaction {result.tx_hash} created no contract", result.tx_hash)
        self.address = to_checksum_address(result.contract_address)
        self.deploy_block = result.block_number
        return result

    def define_service(self, definition: Any) -> TxResult:
        from ledger.deploy import service_args

        return self.transact("defineService", *service_args(definition))

    # ------------------------------------------------------------------ registrar writes

    def register_agency(self, code: str, name: str, name_en: str = "") -> TxResult:
        return self.transact("registerAgency", encode_code(code, "agency code"), name, name_en)

    def add_recorder(self, agency: str, recorder: str) -> TxResult:
        return self.transact("addRecorder", encode_code(agency, "agency code"), to_checksum_address(recorder))

    def remove_recorder(self, agency: str, recorder: str) -> TxResult:
        return self.transact("removeRecorder", encode_code(agency, "agency code"), to_checksum_address(recorder))

    def register_projects(self, projects: Sequence[ProjectSpec], chunk: int = 50) -> list[TxResult]:
        """Register projects, ``chunk`` per transaction (names are long Thai strings)."""
        return [
            self.transact("registerProjects", [p.to_abi() for p in projects[i : i + chunk]])
            for i in range(0, len(projects), chunk)
        ]

    def amend_allocation(self, project: str, new_allocation: int, reason: str) -> TxResult:
        allocation = within_cap(new_allocation, f"allocation of project {project}")
        return self.transact("amendAllocation", encode_code(project, "project code"), allocation, reason)

    def set_service_role(self, service: str, role: int, agency: str, granted: bool = True) -> TxResult:
        return self.transact(
            "setServiceRole", encode_code(service, "service"), role, encode_code(agency, "agency code"), granted
        )

    def grant_role(self, role: str, address: str) -> TxResult:
        return self.transact("grantRole", ROLES[role], to_checksum_address(address))

    def revoke_role(self, role: str, address: str) -> TxResult:
        return self.transact("revokeRole", ROLES[role], to_checksum_address(address))

    def begin_admin_transfer(self, address: str) -> TxResult:
        return self.transact("beginDefaultAdminTransfer", to_checksum_address(address))

    def accept_admin_transfer(self) -> TxResult:
        return self.transact("acceptDefaultAdminTransfer")

    # ------------------------------------------------------------------ recorder writes

    def disburse(self, disbursement: Disbursement) -> TxResult:
        """Record one disbursement; ``result.seqs[0]`` is its public id."""
        return self.transact("disburse", disbursement.to_abi())

    def encode_disburse_batch(self, words: Sequence[bytes]) -> bytes:
        """Calldata of ``disburseBatch`` from structs already encoded by ``Disbursement.to_words``.

        The struct is static, so the array is its offset, its length and the words in a row;
        writing that directly is ~20x faster than eth-abi, which is checked by a test.
        """
        selector = self.abi.functions["disburseBatch"].selector
        return b"".join((selector, (32).to_bytes(32, "big"), len(words).to_bytes(32, "big"), *words))

    @staticmethod
    def batch_gas(count: int, per_item: int, cold_projects: int, linked_requests: int = 0) -> int:
        """Gas limit of a batch from the estimated gas per item (calldata included), with
        headroom for what can differ from the preflighted items: longer codes and non-zero
        hashes in the calldata (measured ~1,100 per item), the cold slots of each distinct
        project (measured ~11,100: index, code, agency, amounts read, amounts written) and of
        each distinct linked request (~2,100)."""
        return 50_000 + count * (per_item + 1_500) + cold_projects * 12_500 + linked_requests * 2_600

    def disburse_batch(
        self,
        disbursements: Sequence[Disbursement],
        *,
        batch_size: int | None = None,
        in_flight: int | None = None,
        on_batch: Callable[[int, list[Disbursement], TxResult], None] | None = None,
    ) -> list[TxResult]:
        """Record disbursements in atomic batches, several transactions in flight.

        Each batch is all-or-nothing on chain. The first ``PREFLIGHT_ITEMS`` are preflighted
        with eth_estimateGas (a refusal raises the decoded error before anything is sent) and
        give the gas per item; each batch then gets that per item plus headroom for every
        distinct project it touches (cold storage slots). A batch refused on chain raises
        its decoded error with the transaction hash.
        ``on_batch(start_index, batch, result)`` runs after each confirmed batch.
        """
        if not disbursements:
            return []
        size = batch_size or self.BATCH_SIZE
        words = [d.to_words() for d in disbursements]
        prefix = words[: min(size, self.PREFLIGHT_ITEMS)]
        # The prefix's own cold projects and the transaction's base cost are spread over
        # its items, which only overstates the per-item figure.
        per_item = self.estimate(self.encode_disburse_batch(prefix), "disburseBatch") // len(prefix)
        limit = self.block_gas_limit()
        payloads: list[tuple[bytes, int]] = []
        for start in range(0, len(words), size):
            part = words[start : start + size]
            cold_projects = len({w[:32] for w in part})
            requests = len({w[160:192] for w in part} - {ZERO32})
            gas = self.batch_gas(len(part), per_item, cold_projects, requests)
            payloads.append((self.encode_disburse_batch(part), min(limit, gas)))
        batches = [list(disbursements[i : i + size]) for i in range(0, len(disbursements), size)]

        def confirmed(index: int, result: TxResult) -> None:
            if on_batch:
                on_batch(index * size, batches[index], result)

        return self.send_pipelined(payloads, in_flight=in_flight, on_confirmed=confirmed)

    def reverse(self, voucher: str, reason: str) -> TxResult:
        """Reverse the signer's agency's disbursement recorded under ``voucher``."""
        return self.transact("reverse", encode_code(voucher, "voucher"), reason)

    def reverse_by_id(self, disbursement_id: int, reason: str) -> tuple[RecordedDisbursement, TxResult]:
        """Reverse the disbursement with public id ``disbursement_id`` (its ledger seq)."""
        if not reason.strip():
            raise LedgerError("a reversal needs a reason (--reason)")
        found = self.find_disbursement(disbursement_id)
        mine = self.my_agency()
        if found.agency != mine:
            raise errors.ProjectNotOwnedError(
                f"disbursement {disbursement_id} belongs to agency {found.agency}; your key records for {mine}",
                "ProjectNotOwned",
                (found.project, found.agency, mine),
            )
        return found, self.reverse(found.voucher, reason)

    def open_request(self, service: str, tracking_code: str, commitment: bytes) -> TxResult:
        return self.transact("openRequest", encode_code(service, "service"), encode_tracking(tracking_code), commitment)

    def advance_request(self, tracking_code: str, to_state: int, reason: str = "") -> TxResult:
        return self.transact("advanceRequest", encode_tracking(tracking_code), to_state, reason)
