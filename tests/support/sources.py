"""eth-tester behind the auditor's source interface: web3.py's formatted results turned back
into node JSON, so the exporter reads eth-tester as it reads a node."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.errors import RpcError


def _jsonify(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _jsonify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonify(v) for v in value]
    return value


class Web3Source:
    """web3.py's formatted results turned back into node JSON; for eth-tester in tests."""

    def __init__(self, w3: Any) -> None:
        self.w3 = w3

    def call(self, method: str, params: list[Any]) -> Any:
        eth = self.w3.eth
        if method == "eth_chainId":
            return hex(eth.chain_id)
        if method == "eth_blockNumber":
            return hex(eth.block_number)
        if method == "eth_getBlockByNumber":
            number = params[0] if params[0] in ("latest", "earliest") else int(params[0], 16)
            return _jsonify(dict(eth.get_block(number, False)))
        if method == "eth_getCode":
            return "0x" + bytes(eth.get_code(params[0], int(params[1], 16))).hex()
        if method == "eth_call":
            return "0x" + bytes(eth.call(params[0], int(params[1], 16))).hex()
        if method == "eth_getLogs":
            query = dict(params[0])
            for bound in ("fromBlock", "toBlock"):
                if isinstance(query.get(bound), str) and query[bound].startswith("0x"):
                    query[bound] = int(query[bound], 16)
            return [_jsonify(dict(log)) for log in eth.get_logs(query)]
        raise RpcError(f"{method} is not served by the web3 source", method=method)

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        return [self.call(m, p) for m, p in calls]

    def block_receipts(self, numbers: Sequence[int]) -> list[list[dict[str, Any]]]:
        out = []
        for n in numbers:
            block = self.w3.eth.get_block(n, False)
            out.append([_jsonify(dict(self.w3.eth.get_transaction_receipt(h))) for h in block["transactions"]])
        return out


class EthTesterSource(Web3Source):
    """eth-tester through web3, with two corrections taken from py-evm's own header: eth-tester
    pads ``extraData`` to 32 bytes and carries ``logsBloom`` as an integer (leading zero bytes
    lost), and either changes the header's hash."""

    def __init__(self, w3: Any, tester: Any) -> None:
        super().__init__(w3)
        self.tester = tester

    def call(self, method: str, params: list[Any]) -> Any:
        result = super().call(method, params)
        if method == "eth_getBlockByNumber" and result is not None:
            header = self.tester.backend.chain.get_canonical_block_header_by_number(int(result["number"], 16))
            result["extraData"] = "0x" + bytes(header.extra_data).hex()
            result["logsBloom"] = "0x" + header.bloom.to_bytes(256, "big").hex()
        return result
