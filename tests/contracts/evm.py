"""A fast in-process EVM for the contract suites: py-evm state driven directly.

eth-tester mines a block per transaction, which costs ~25 ms; the stateful suite sends
tens of thousands of transactions, so it applies them to py-evm's pending state instead
(~5 ms) and isolates examples with the state journal (snapshot/revert is free). Gas figures
that must match a real node (bench, gas growth) still come from the same executor, so they
include intrinsic and calldata gas exactly as a mined receipt would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth.vm.message import Message
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_tester import PyEVMBackend
from eth_utils import function_abi_to_4byte_selector, keccak, to_checksum_address
from web3 import Web3
from web3._utils.events import get_event_data

GAS_PRICE = 10**9
ZERO_ADDRESS = b"\0" * 20

_OZ_ERRORS = [
    # Errors the OpenZeppelin bases raise; the artifact's ABI lists them too, this is the fallback.
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]


def _canonical_type(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]
    return kind


def _plain(value: Any) -> Any:
    """web3 decodes structs as dicts; the tests compare them as tuples, like eth_abi."""
    if isinstance(value, dict):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


def _checksummed(types: list[str], values: Any) -> tuple[Any, ...]:
    # eth_abi returns lower-case addresses; web3 and the tests use the checksum form.
    return tuple(to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True))


@dataclass
class Reverted:
    """A decoded custom error: ``Reverted("ProjectNotOwned", (code, owner, caller))``."""

    name: str
    args: tuple[Any, ...]


@dataclass
class Outcome:
    ok: bool
    gas_used: int
    output: bytes
    logs: list[tuple[bytes, list[int], bytes]]
    error: Reverted | None = None
    events: list[Any] = field(default_factory=list)
    calldata: bytes = b""


class Codec:
    """Encode calls and decode errors and events with the ABI of one artifact."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.abi = abi
        self.errors: dict[bytes, dict[str, Any]] = {}
        for item in abi + _OZ_ERRORS:
            if item["type"] == "error":
                self.errors.setdefault(function_abi_to_4byte_selector(item), item)
        self.events: dict[int, dict[str, Any]] = {}
        for item in abi:
            if item["type"] == "event":
                signature = f"{item['name']}({','.join(_canonical_type(i) for i in item['inputs'])})"
                self.events[int.from_bytes(keccak(text=signature), "big")] = item
        self._w3 = Web3()
        # web3's encode_abi re-validates the whole ABI on every call (~12 ms); this is eth_abi only.
        self.functions: dict[str, tuple[bytes, list[str]]] = {}
        for item in abi:
            if item["type"] == "function":
                types = [_canonical_type(i) for i in item["inputs"]]
                self.functions[item["name"]] = (function_abi_to_4byte_selector(item), types)

    def encode(self, fn: str, *args: Any) -> bytes:
        selector, types = self.functions[fn]
        return selector + abi_encode(types, list(args))

    def decode_output(self, fn: str, output: bytes) -> tuple[Any, ...]:
        item = next(i for i in self.abi if i.get("type") == "function" and i["name"] == fn)
        types = [_canonical_type(o) for o in item["outputs"]]
        return _checksummed(types, abi_decode(types, output))

    def decode_error(self, output: bytes) -> Reverted:
        item = self.errors.get(output[:4])
        if item is None:
            return Reverted("<unknown>", (output.hex(),))
        types = [_canonical_type(i) for i in item["inputs"]]
        return Reverted(item["name"], _checksummed(types, abi_decode(types, output[4:])))

    def decode_event(self, address: bytes, topics: list[int], data: bytes) -> Any:
        item = self.events[topics[0]]
        log = {
            "address": to_checksum_address(address),
            "topics": [t.to_bytes(32, "big") for t in topics],
            "data": data,
            "logIndex": 0,
            "transactionIndex": 0,
            "transactionHash": b"\0" * 32,
            "blockHash": b"\0" * 32,
            "blockNumber": 0,
        }
        event = get_event_data(self._w3.codec, item, log)
        return {"event": event["event"], "args": {k: _plain(v) for k, v in event["args"].items()}}


class Evm:
    """One py-evm chain with ten funded keys; transactions apply to the pending state."""

    def __init__(self) -> None:
        params = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
        self.backend = PyEVMBackend(genesis_parameters=params)
        chain = self.backend.chain
        self.chain_id = chain.chain_id
        self._chain = chain
        self._create = chain.create_unsigned_transaction
        self.keys = list(self.backend.account_keys)
        self.accounts = [k.public_key.to_canonical_address() for k in self.keys]
        self._key_of = {a: k for a, k in zip(self.accounts, self.keys, strict=True)}
        # Journal of every storage write (address, slot, value), for the personal-data scan.
        self.storage_writes: list[tuple[bytes, int, int]] | None = None
        self.state: Any = None
        self._clock = 0  # seconds added to the pending block's timestamp
        self._use_state(chain.header.state_root)

    def _use_state(self, root: bytes) -> None:
        chain = self._chain
        vm = chain.get_vm(chain.header)
        state = vm.build_state(
            chain.chaindb.db,
            chain.header.copy(state_root=root, timestamp=chain.header.timestamp + self._clock),
            vm.chain_context,
            vm.previous_hashes,
        )
        original_set_storage = state.set_storage

        def recording_set_storage(address: bytes, slot: int, value: int) -> None:
            if self.storage_writes is not None:
                self.storage_writes.append((address, slot, value))
            original_set_storage(address, slot, value)

        state.set_storage = recording_set_storage
        self.state = state

    def warp(self, seconds: int) -> None:
        """Move the block timestamp forward (the admin hand-over waits for a later block)."""
        root = self.snapshot()
        self._clock += seconds
        self._use_state(root)

    def snapshot(self) -> bytes:
        """Persist the state and return its root; ``revert(root)`` comes back to it."""
        self.state.persist()
        return self.state.state_root

    def revert(self, root: bytes) -> None:
        # State roots are content addresses in the database, so any persisted root can be resumed.
        self._use_state(root)

    def send(self, sender: bytes, to: bytes, data: bytes, gas: int = 20_000_000) -> tuple[Any, int]:
        """Apply one signed legacy transaction; returns (computation, gas used)."""
        nonce = self.state.get_nonce(sender)
        tx = self._create(nonce=nonce, gas_price=GAS_PRICE, gas=gas, to=to, value=0, data=data)
        signed = tx.as_signed_transaction(self._key_of[sender], chain_id=self.chain_id)
        before = self.state.get_balance(sender)
        computation = self.state.apply_transaction(signed)
        # As between the transactions of a block: storage "original" values and warm
        # addresses reset, so gas figures are those of a real chain.
        self.state.lock_changes()
        # Legacy price with zero value: what the sender paid is exactly gas used x price.
        gas_used = (before - self.state.get_balance(sender)) // GAS_PRICE
        return computation, gas_used

    def deploy(self, sender: bytes, bytecode: str, constructor_args: bytes = b"") -> bytes:
        computation, _ = self.send(sender, b"", bytes.fromhex(bytecode.removeprefix("0x")) + constructor_args)
        if computation.is_error:
            raise RuntimeError(f"deployment failed: {computation.error}")
        return computation.msg.storage_address

    def read(self, to: bytes, data: bytes) -> tuple[bool, bytes]:
        """An eth_call against the pending state; leaves no trace."""
        snapshot = self.state.snapshot()  # within one call the journal is safe to use
        message = Message(gas=30_000_000, to=to, sender=ZERO_ADDRESS, value=0, data=data, code=self.state.get_code(to))
        context = self.state.get_transaction_context_class()(gas_price=0, origin=ZERO_ADDRESS)
        computation = self.state.computation_class.apply_message(self.state, message, context)
        self.state.revert(snapshot)
        return (not computation.is_error), computation.output


class Ledger:
    """A deployed GovLedger (or a planted-bug variant) with typed calls."""

    def __init__(self, evm: Evm, artifact: dict[str, Any], admin: bytes) -> None:
        self.evm = evm
        self.codec = Codec(artifact["abi"])
        from eth_abi import encode

        self.address = evm.deploy(admin, artifact["bytecode"], encode(["uint48", "address"], [0, admin]))
        self.sent: list[Outcome] = []
        self.record_sent = False

    def transact(self, sender: bytes, fn: str, *args: Any, gas: int = 20_000_000) -> Outcome:
        data = self.codec.encode(fn, *args)
        computation, gas_used = self.evm.send(sender, self.address, data, gas)
        logs = [(a, list(t), bytes(d)) for a, t, d in computation.get_log_entries()]
        outcome = Outcome(ok=not computation.is_error, gas_used=gas_used, output=computation.output, logs=logs)
        outcome.calldata = data
        if outcome.ok:
            outcome.events = [self.codec.decode_event(*log) for log in logs]
        else:
            outcome.error = self.codec.decode_error(computation.output)
        if self.record_sent:
            self.sent.append(outcome)
        return outcome

    def call(self, fn: str, *args: Any) -> tuple[Any, ...]:
        ok, output = self.evm.read(self.address, self.codec.encode(fn, *args))
        if not ok:
            raise AssertionError(f"{fn} reverted: {self.codec.decode_error(output)}")
        return self.codec.decode_output(fn, output)

    def call_error(self, fn: str, *args: Any) -> Reverted | None:
        ok, output = self.evm.read(self.address, self.codec.encode(fn, *args))
        return None if ok else self.codec.decode_error(output)

    def head(self) -> tuple[int, bytes]:
        seq, head = self.call("ledgerHead")
        return seq, head
