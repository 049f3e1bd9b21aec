"""The privacy report's risk: the most revealing category found decides it."""

from __future__ import annotations

import pytest

from exif_service.domain.privacy import Category, Risk, risk_of


@pytest.mark.parametrize(
    ("found", "risk"),
    [
        ([], Risk.NONE),
        ([Category.TIME], Risk.LOW),
        ([Category.TIME, Category.IDENTITY], Risk.MEDIUM),
        ([Category.FREE_TEXT], Risk.MEDIUM),
        ([Category.HISTORY, Category.EMBEDDED], Risk.MEDIUM),
        ([Category.TIME, Category.LOCATION], Risk.HIGH),
        ([Category.PEOPLE], Risk.HIGH),
        ([Category.DEVICE, Category.IDENTITY], Risk.HIGH),
    ],
)
def test_the_most_revealing_category_sets_the_risk(found: list[Category], risk: Risk) -> None:
    assert risk_of(found) is risk


def test_every_category_has_a_risk() -> None:
    assert all(risk_of([category]) is not Risk.NONE for category in Category)
