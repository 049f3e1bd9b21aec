"""Storage faults that reached the HTTP edge untranslated become the domain's `StoreUnavailable`.

The stores translate their own faults (`store/faults.py`); this is the net under the ones that
do not yet, so a throttled or unreachable table is a 503 with Retry-After on every surface,
never a 500.
"""

from __future__ import annotations

from exif_service.domain.errors import StoreUnavailable
from exif_service.store.faults import fault_of, unavailable


def as_store_unavailable(exc: BaseException) -> StoreUnavailable | None:
    """`StoreUnavailable` if a transient storage fault is behind `exc`, else None."""
    fault = fault_of(exc)
    return None if fault is None else unavailable(fault)
