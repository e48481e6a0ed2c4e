"""The application services: each use case written once, beneath every way in.

The command line (`api.cli`), the HTTP API (`api.http`) and the consumers parse their
input, call one function here with a built `infra.bootstrap.System`, and render the typed
answer (each has `as_dict()`, its plain-JSON form). Only these services touch the
recorder, the view store, the runner and the group committer; personal data leaves them
masked unless the `Viewer` may see it. Modules, one area each:

- `participants`: resolve a NIK or id; status and history (masked per viewer); pay,
  enroll and erase, and `record(system, Kind, fields)` for any command of
  `domain.commands`, each answering with the log position it reached.
- `coverage`: coverage counts after catching the projections up, or as recorded at a time.
- `dashboard`: the coverage dashboard's figures for a month and region, as the read
  models stand, with the log position they reflect and the projections' lag.
- `replay`: the projections at a past position or time, in a scratch store; compare with live.
- `imports`: a CSV file into the ledger, with its rejects file.
- `projections`: catch up, follow, rebuild, status.
- `audit`: the verifiable log: seal, checkpoints, inclusion and consistency proofs,
  verify, the independent coverage recount; `exports`: events, status and coverage files
  for auditors, each cut at a tree size and root (docs/audit.md).
- `seeding`, `bench`, `demo`: the tools the command line offers.
"""

from __future__ import annotations

from api.services.progress import Tracker, Update, no_progress
from api.services.viewer import Viewer

__all__ = ["Tracker", "Update", "Viewer", "no_progress"]
