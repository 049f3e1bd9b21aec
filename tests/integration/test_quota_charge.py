"""`services.quota.charge`: the charge sent beside its block, waited for before anything shows.

Service-level, against moto's DynamoDB: what a block that charges sees and leaves, whatever
order the block's work and the store's answer come in. The HTTP paths and the store faults are
in test_charge_overlap.py.
"""

from __future__ import annotations

import pytest

from exif_service.domain.errors import QuotaExceeded, UnsupportedFile
from exif_service.domain.plans import usage_day
from exif_service.services.quota import PREPAID, charge, metered
from exif_service.settings import Settings
from exif_service.store import usage

SUBJECT = "user#charge-tests"
LIMIT = 2


def _used() -> int:
    return usage.used(SUBJECT, usage_day())


def _use_up() -> None:
    assert usage.try_consume(SUBJECT, usage_day(), LIMIT, LIMIT) == LIMIT


def test_a_charge_within_the_limit_counts_once_the_block_ends(aws: Settings) -> None:
    with metered() as meter, charge(SUBJECT, LIMIT) as charged:
        charged.confirm()
        charged.confirm()  # a second look repeats the answer, it does not charge again
    assert _used() == 1
    assert meter.last is not None and meter.last.remaining == LIMIT - 1


def test_a_block_that_never_confirms_is_still_refused_when_it_ends(aws: Settings) -> None:
    _use_up()
    ran = False
    with pytest.raises(QuotaExceeded), charge(SUBJECT, LIMIT):
        ran = True
    assert ran  # the block ran beside the charge; its end is where the refusal lands
    assert _used() == LIMIT


def test_confirm_raises_the_refusal_before_the_block_goes_on(aws: Settings) -> None:
    _use_up()
    reached = False
    with metered() as meter, pytest.raises(QuotaExceeded), charge(SUBJECT, LIMIT) as charged:
        charged.confirm()
        reached = True
    assert not reached
    assert meter.last is not None and meter.last.remaining == 0


def test_over_the_limit_the_refusal_wins_over_the_blocks_own_error(aws: Settings) -> None:
    _use_up()
    with pytest.raises(QuotaExceeded) as caught, charge(SUBJECT, LIMIT):
        raise UnsupportedFile("not media")
    assert isinstance(caught.value.__cause__, UnsupportedFile)  # kept for the log
    assert _used() == LIMIT


def test_the_blocks_error_goes_on_and_the_units_come_back(aws: Settings) -> None:
    with metered() as meter, pytest.raises(UnsupportedFile), charge(SUBJECT, LIMIT, units=2):
        raise UnsupportedFile("not media")
    assert _used() == 0
    assert meter.last is not None and meter.last.remaining == LIMIT


def test_an_error_after_confirm_gives_the_units_back_once(aws: Settings) -> None:
    with pytest.raises(UnsupportedFile), charge(SUBJECT, LIMIT) as charged:
        charged.confirm()
        raise UnsupportedFile("not media")
    assert _used() == 0


def test_prepaid_work_confirms_without_asking_the_store() -> None:
    # no moto here: a store call would fail for want of tables
    PREPAID.confirm()
    PREPAID.confirm()
