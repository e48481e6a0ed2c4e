"""The scheme's model: values, rules, the Participant aggregate and the Ledger application.

Nothing here does I/O of its own; storage and transport are injected from `infra`.
"""
