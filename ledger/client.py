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

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from ledger import errors
from ledger.artifacts import load_artifact
from ledger.deployment import Deployment, load_deployment
from ledger.errors import (
    ChainMismatchError,
    ContractError,
    DisbursementUnknownError,
    LedgerError,
    RpcError,
    TransactionRevertedError,
    TransactionTimeoutError,
)
from ledger.settings import Settings
from ledger.types import (
    MAX_ALLOCATION,
    MAX_FISCAL_YEAR,
    MIN_FISCAL_YEAR,
    ValueFormatError,
    decode_code,
    decode_tracking,
    encode_code,
    encode_tracking,
    format_baht,
)

ZERO32 = b"\0" * 32


# --------------------------------------------------------------------------- ABI codec


def _type_string(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return str(kind)


@dataclass(frozen=True)
class AbiItem:
    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class AbiEvent:
    name: str
    topic0: bytes
    indexed: tuple[str, ...]
    data: tuple[str, ...]
    data_names: tuple[str, ...]


class ContractAbi:
    """Encoders and decoders built once from the artifact ABI (eth-abi directly: it is fast)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.functions: dict[str, AbiItem] = {}
        self.errors: dict[bytes, AbiItem] = {}
        self.events: dict[str, AbiEvent] = {}
        for entry in abi:
            kind = entry["type"]
            if kind in ("function", "error"):
                inputs = tuple(_type_string(p) for p in entry.get("inputs", []))
                signature = f"{entry['name']}({','.join(inputs)})"
                item = AbiItem(
                    entry["name"],
                    bytes(keccak(text=signature))[:4],
                    inputs,
                    tuple(_type_string(p) for p in entry.get("outputs", [])),
                )
                if kind == "function":
                    self.functions[item.name] = item
                else:
                    self.errors[item.selector] = item
            elif kind == "event":
                params = entry["inputs"]
                types = ",".join(_type_string(p) for p in params)
                self.events[entry["name"]] = AbiEvent(
                    entry["name"],
                    bytes(keccak(text=f"{entry['name']}({types})")),
                    tuple(_type_string(p) for p in params if p["indexed"]),
                    tuple(_type_string(p) for p in params if not p["indexed"]),
                    tuple(p["name"] for p in params if not p["indexed"]),
                )

    def encode(self, name: str, *args: Any) -> bytes:
        item = self.functions[name]
        return item.selector + abi_encode(list(item.inputs), list(args))

    def decode_output(self, name: str, data: bytes) -> tuple[Any, ...]:
        return tuple(abi_decode(list(self.functions[name].outputs), data))

    def decode_error(self, data: bytes) -> tuple[str, tuple[Any, ...]] | None:
        item = self.errors.get(data[:4])
        if item is None:
            return None
        try:
            return item.name, tuple(abi_decode(list(item.inputs), data[4:]))
        except Exception:  # eth-abi raises several decoding errors; any of them means "not ours"
            return None


# --------------------------------------------------------------------------- transport


class RpcRevert(Exception):
    """A JSON-RPC call reverted; ``data`` is the raw revert data (may be empty)."""

    def __init__(self, data: bytes, message: str) -> None:
        super().__init__(message)
        self.data = data


class Transport(Protocol):
    """Standard JSON-RPC: one call, or several in one JSON-RPC batch."""

    def request(self, method: str, params: list[Any]) -> Any: ...

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Results in order; a failed call's slot holds its exception (RpcRevert or RpcError)."""
        ...


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


def _error_from_response(error: dict[str, Any], method: str) -> Exception:
    data = _revert_data(error.get("data"))
    message = str(error.get("message", "unknown error"))
    if data is not None:
        try:
            return RpcRevert(bytes.fromhex(data[2:]), message)
        except ValueError:
            pass
    # Code 3 is "execution reverted" in the Ethereum JSON-RPC spec; no data means no reason.
    if error.get("code") == 3:
        return RpcRevert(b"", message)
    return RpcError(f"{method} failed: {message}")


class HttpTransport:
    """JSON-RPC over HTTP with httpx and orjson (web3's formatting costs more than the node)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers={"Content-Type": "application/json"})
        self._ids = itertools.count(1)

    def _post(self, body: Any) -> Any:
        try:
            response = self._client.post(self.url, content=orjson.dumps(body))
        except httpx.HTTPError as exc:
            raise RpcError(
                f"cannot reach the chain at {self.url} ({exc.__class__.__name__}); is the node running?"
            ) from None
        if response.status_code != 200:
            raise RpcError(f"the chain at {self.url} answered HTTP {response.status_code}")
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise RpcError(f"the chain at {self.url} answered something that is not JSON") from None

    def request(self, method: str, params: list[Any]) -> Any:
        reply = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        if not isinstance(reply, dict):
            raise RpcError(f"{method}: malformed JSON-RPC reply")
        if "error" in reply:
            raise _error_from_response(reply["error"], method)
        return reply.get("result")

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        first = next(self._ids)
        body = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        for _ in calls[1:]:
            next(self._ids)
        replies = self._post(body)
        if not isinstance(replies, list):
            if isinstance(replies, dict) and "error" in replies:
                raise _error_from_response(replies["error"], "batch")
            raise RpcError("the node does not support JSON-RPC batches")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        results: list[Any] = []
        for i, (method, _) in enumerate(calls):
            reply = by_id.get(first + i)
            if reply is None:
                results.append(RpcError(f"{method}: no reply in the batch"))
            elif "error" in reply:
                results.append(_error_from_response(reply["error"], method))
            else:
                results.append(reply.get("result"))
        return results

    def close(self) -> None:
        self._client.close()


def _hex(value: int) -> str:
    return hex(value)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


# --------------------------------------------------------------------------- typed values


def _within_cap(satang: int, what: str) -> int:
    """Refuse, before sending, an amount the contract caps (and the mirror could not hold)."""
    if not 0 <= satang <= MAX_ALLOCATION:
        raise ValueFormatError(
            f"{what} {format_baht(satang)} baht is outside 0 to {format_baht(MAX_ALLOCATION)} baht, the ledger's cap"
        )
    return satang


@dataclass(frozen=True)
class ProjectSpec:
    """A project to register: codes as text, allocation in satang."""

    code: str
    agency: str
    fiscal_year: int
    allocation: int
    name: str

    def to_abi(self) -> tuple[Any, ...]:
        return (
            encode_code(self.code, "project code"),
            encode_code(self.agency, "agency code"),
            self.fiscal_year,
            _within_cap(self.allocation, f"allocation of project {self.code}"),
            self.name,
        )


@dataclass(frozen=True)
class Disbursement:
    """One payment: project and voucher codes as text, amount in satang, hashes as 32 bytes."""

    project: str
    amount: int
    payee: str
    voucher: str
    document_hash: bytes | None = None
    request: str | None = None  # tracking code as printed

    def to_abi(self) -> tuple[Any, ...]:
        return (
            encode_code(self.project, "project code"),
            encode_code(self.voucher, "voucher"),
            _within_cap(self.amount, f"amount of voucher {self.voucher}"),
            encode_code(self.payee, "payee"),
            self.document_hash or ZERO32,
            encode_tracking(self.request) if self.request else ZERO32,
        )

    def to_words(self) -> bytes:
        """The struct's ABI encoding: six static 32-byte words (what ``to_abi`` encodes to)."""
        if self.amount <= 0:
            raise ValueFormatError(f"amount of voucher {self.voucher} must be positive")
        _within_cap(self.amount, f"amount of voucher {self.voucher}")
        document = self.document_hash or ZERO32
        if len(document) != 32:
            raise ValueFormatError("a document hash is 32 bytes")
        return b"".join(
            (
                encode_code(self.project, "project code"),
                encode_code(self.voucher, "voucher"),
                self.amount.to_bytes(32, "big"),
                encode_code(self.payee, "payee"),
                document,
                encode_tracking(self.request) if self.request else ZERO32,
            )
        )


@dataclass(frozen=True)
class ProjectState:
    code: str
    agency: str
    fiscal_year: int
    allocation: int
    net_disbursed: int

    @property
    def remaining(self) -> int:
        return self.allocation - self.net_disbursed


@dataclass(frozen=True)
class DisbursementState:
    seq: int
    project: str
    amount: int
    reversed: bool


@dataclass(frozen=True)
class RecordedDisbursement:
    """A DisbursementRecorded event, found by its seq (the disbursement's public id)."""

    seq: int
    project: str
    agency: str
    voucher: str
    amount: int
    payee: str
    tx_hash: str
    block_number: int
    document_hash: bytes = ZERO32
    request: bytes = ZERO32  # tracking code as stored (decode_tracking prints it)


@dataclass(frozen=True)
class RequestState:
    tracking_code: str
    service: str
    agency: str
    state: int


@dataclass
class TxResult:
    """A mined, successful transaction and the ledger seqs it produced."""

    tx_hash: str
    block_number: int
    gas_used: int
    seqs: list[int] = field(default_factory=list)
    contract_address: str | None = None


# --------------------------------------------------------------------------- client


def _describe(name: str, values: tuple[Any, ...]) -> tuple[type[ContractError], str]:
    """The exception class and one-line message for a decoded custom error."""
    code = decode_code
    # eth-abi decodes addresses in lower case; people compare them in checksum form.
    v = tuple(
        to_checksum_address(x) if isinstance(x, str) and len(x) == 42 and x.startswith("0x") else x for x in values
    )
    table: dict[str, tuple[type[ContractError], Callable[[], str]]] = {
        "AccessControlUnauthorizedAccount": (
            errors.AccessDeniedError,
            lambda: f"key {v[0]} lacks the {ROLE_NAMES.get(bytes(v[1]), '0x' + bytes(v[1]).hex())} role",
        ),
        "AccessControlEnforcedDefaultAdminDelay": (
            errors.AccessDeniedError,
            lambda: f"the admin hand-over can be accepted only after its delay, from unix time {v[0]}",
        ),
        "AccessControlInvalidDefaultAdmin": (
            errors.AccessDeniedError,
            lambda: f"{v[0]} is not the pending admin; the current admin starts the hand-over first",
        ),
        "RecorderUnknown": (errors.AccessDeniedError, lambda: f"key {v[0]} is not a recorder of any agency"),
        "EnforcedPause": (errors.LedgerPausedError, lambda: "the ledger is paused; ask a pauser to unpause it"),
        "CodeMalformed": (errors.CodeMalformedError, lambda: f"code {code(v[0])} is malformed"),
        "AgencyAlreadyRegistered": (errors.AgencyExistsError, lambda: f"agency {code(v[0])} is already registered"),
        "AgencyUnknown": (errors.AgencyUnknownError, lambda: f"agency {code(v[0])} is not registered"),
        "RecorderAlreadyAssigned": (
            errors.RecorderAssignedError,
            lambda: f"key {v[0]} already records for agency {code(v[1])}",
        ),
        "RecorderNotAssigned": (
            errors.RecorderNotAssignedError,
            lambda: f"key {v[0]} does not record for agency {code(v[1])}",
        ),
        "ProjectAlreadyRegistered": (errors.ProjectExistsError, lambda: f"project {code(v[0])} is already registered"),
        "ProjectUnknown": (errors.ProjectUnknownError, lambda: f"project {code(v[0])} is not registered"),
        "ProjectNotOwned": (
            errors.ProjectNotOwnedError,
            lambda: f"project {code(v[0])} belongs to agency {code(v[1])}, not to {code(v[2])}",
        ),
        "DisbursementOverBudget": (
            errors.OverBudgetError,
            lambda: (
                f"over budget: project {code(v[0])} has {format_baht(v[1])} baht remaining, "
                f"{format_baht(v[2])} requested"
            ),
        ),
        "VoucherAlreadyUsed": (
            errors.VoucherUsedError,
            lambda: f"voucher {code(v[1])} is already recorded for agency {code(v[0])}",
        ),
        "DisbursementUnknown": (
            errors.DisbursementUnknownError,
            lambda: f"agency {code(v[0])} has no disbursement with voucher {code(v[1])}",
        ),
        "DisbursementAlreadyReversed": (
            errors.AlreadyReversedError,
            lambda: f"the disbursement with voucher {code(v[1])} of agency {code(v[0])} is already reversed",
        ),
        "DisbursementAmountZero": (
            ContractError,
            lambda: f"amount of voucher {code(v[1])} on project {code(v[0])} is zero",
        ),
        "AllocationBelowDisbursed": (
            ContractError,
            lambda: (
                f"project {code(v[0])} has {format_baht(v[1])} baht disbursed; "
                f"the allocation cannot go down to {format_baht(v[2])}"
            ),
        ),
        "RequestUnknown": (
            errors.RequestUnknownError,
            lambda: f"no request with tracking code {decode_tracking(v[0])}",
        ),
        "LinkedRequestUnknown": (
            errors.RequestUnknownError,
            lambda: f"the linked request {decode_tracking(v[0])} does not exist",
        ),
        "TransitionNotAllowed": (
            errors.TransitionError,
            lambda: f"request {decode_tracking(v[0])}: transition {v[1]} -> {v[2]} is not in the service table",
        ),
        "TransitionRoleMissing": (
            errors.TransitionError,
            lambda: f"request {decode_tracking(v[0])}: agency {code(v[2])} does not hold role {v[1]} for this step",
        ),
        "FiscalYearInvalid": (
            ContractError,
            lambda: f"fiscal year {v[0]} is not a B.E. year in {MIN_FISCAL_YEAR}..{MAX_FISCAL_YEAR}",
        ),
        "AllocationTooLarge": (ContractError, lambda: f"allocation {v[0]} satang is too large"),
        "ReasonMissing": (ContractError, lambda: "a reason is required"),
        "BatchEmpty": (ContractError, lambda: "the batch is empty"),
        "VoucherMissing": (ContractError, lambda: "the voucher is empty"),
        "RecorderAddressZero": (ContractError, lambda: "the recorder address is zero"),
        "ServiceUnknown": (ContractError, lambda: f"service {code(v[0])} is not defined"),
        "ServiceAlreadyDefined": (ContractError, lambda: f"service {code(v[0])} is already defined"),
        "ServiceRoleUnknown": (ContractError, lambda: f"service {code(v[0])} has no grantable role {v[1]}"),
        "RequestAlreadyOpened": (ContractError, lambda: f"request {decode_tracking(v[0])} is already open"),
    }
    cls, message = table.get(name, (ContractError, lambda: f"the contract refused: {name}{tuple(v)!r}"))
    return cls, message()


ROLE_NAMES = {
    bytes(keccak(text="REGISTRAR_ROLE")): "registrar",
    bytes(keccak(text="PAUSER_ROLE")): "pauser",
    ZERO32: "admin",
}
ROLES = {name: role for role, name in ROLE_NAMES.items()}


class LedgerClient:
    """Calls and transactions of one GovLedger deployment, signed by one local account.

    Args:
        transport: JSON-RPC transport (``HttpTransport`` for a node URL).
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
        transport: Transport,
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
        node_chain = _int(transport.request("eth_chainId", []))
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
        transport = HttpTransport(settings.rpc_url)
        client = cls(
            transport, deployment.address, None, chain_id=deployment.chain_id, deploy_block=deployment.deploy_block
        )
        if signer:
            client.account = load_account(
                settings, chain_id=client.chain_id, allow_dev_key=allow_dev_key, warn=warn or warn_stderr
            )
        return client

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
        cls, message = _describe(name, values)
        if tx_hash:
            message += f" (transaction {tx_hash})"
        raise cls(message, name, values, tx_hash)

    def _rpc(self, method: str, params: list[Any], what: str = "call") -> Any:
        try:
            return self.transport.request(method, params)
        except RpcRevert as exc:
            self._raise_revert(exc.data, None, what)

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
                if isinstance(result, RpcRevert):
                    self._raise_revert(result.data, None, name)
                if isinstance(result, Exception):
                    raise result
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
                if isinstance(result, RpcRevert):
                    decoded = self.abi.decode_error(result.data)
                    if decoded and decoded[0] == "ProjectUnknown":
                        out[code] = None
                        continue
                    self._raise_revert(result.data, None, "project")
                if isinstance(result, Exception):
                    raise result
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
                if isinstance(result, RpcRevert):
                    self._raise_revert(result.data, None, "disbursement")
                if isinstance(result, Exception):
                    raise result
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
            tip = _int(self.transport.request("eth_maxPriorityFeePerGas", []))
        except (RpcError, RpcRevert):
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
            if isinstance(result, Exception):
                # The local nonce may now have a gap; read it again next time.
                self._nonce = None
                if isinstance(result, RpcRevert):
                    self._raise_revert(result.data, tx_hash, "transaction")
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
            self.transport.request("eth_call", [call, parent])
        except RpcRevert as exc:
            self._raise_revert(exc.data, tx_hash, "transaction")
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
        allocation = _within_cap(new_allocation, f"allocation of project {project}")
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
