"""The GovLedger ABI codec: selectors, encoders and decoders built once from the artifact ABI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak


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
