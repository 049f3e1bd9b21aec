"""Storage faults that reached the HTTP edge untranslated become the domain's `StoreUnavailable`.

Every store function translates its own faults (`store/faults.py`, `translate_faults`); what
can still arrive untranslated is a fault met while iterating a lazy query result outside the
store. This net catches those, so a throttled or unreachable table is a 503 with Retry-After on
every surface, never a 500.
"""

from __future__ import annotations

from exif_service.domain.errors import StoreUnavailable
from exif_service.store.faults import fault_of, unavailable


def as_store_unavailable(exc: BaseException) -> StoreUnavailable | None:
    """`StoreUnavailable` if a transient storage fault is behind `exc`, else None."""
    fault = fault_of(exc)
    return None if fault is None else unavailable(fault)
