"""The bulk path's shares: id ranges that cover the id space once, in order, and nest
inside a worker's part; every read model folds in bulk (so rebuilds and replays take the
fast path, and the projection tests exercise it)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from infra.bootstrap import all_projections
from projections.bulk import BYTES_PER_POSITION, id_ranges, positions_per_share, shares_for
from projections.split import Partition


def _range_of(hex_id: str, ranges: list[tuple[str | None, str | None]]) -> list[int]:
    return [
        k
        for k, (low, high) in enumerate(ranges)
        if (low is None or hex_id >= low) and (high is None or hex_id < high)
    ]


@given(st.integers(1, 40), st.uuids())
def test_each_id_falls_in_exactly_one_range(count: int, originator: uuid.UUID) -> None:
    ranges = id_ranges(count)
    assert len(ranges) == count
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert len(_range_of(originator.hex, ranges)) == 1


@given(st.integers(1, 8), st.integers(1, 6), st.uuids())
def test_a_workers_ranges_split_its_part_only(
    parts: int, count: int, originator: uuid.UUID
) -> None:
    owners = [
        k for k in range(parts) if _range_of(originator.hex, id_ranges(count, Partition(k, parts)))
    ]
    assert len(owners) == 1  # one worker folds each participant, in one of its ranges
    assert len(_range_of(originator.hex, id_ranges(count, Partition(owners[0], parts)))) == 1


def test_shares_grow_with_the_log() -> None:
    assert shares_for(0) == shares_for(1) == 1
    assert shares_for(10**9) > shares_for(10**7) > 1


def test_more_memory_folds_a_log_in_fewer_shares() -> None:
    assert positions_per_share(4096) == 4096 * 2**20 // BYTES_PER_POSITION
    # the million-participant log (25.4 million positions): 3 shares at the default, 2 at 8 GB
    assert shares_for(25_400_918, positions_per_share()) == 3
    assert shares_for(25_400_918, positions_per_share(8192)) == 2
    assert shares_for(1000, positions_per_share(1)) == 1
    assert shares_for(1000, 100) == 10


def test_every_read_model_folds_in_bulk() -> None:
    assert all(p.bulk for p in all_projections())
