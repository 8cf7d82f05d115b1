"""The auditor: export a portable bundle from any JSON-RPC node and verify it offline.

Every check here is written from the Ethereum and govledger specifications, not from the
indexer's code, so that a bug in the mirror cannot hide itself from the audit: headers are
re-hashed, receipt tries rebuilt, events decoded with eth-abi from the ABI, and the ledger
rules replayed. Only the mirror rebuild (compare.py) reuses the indexer, by design: it asks
"does the published mirror equal what the indexer makes of these proven logs?".
"""
