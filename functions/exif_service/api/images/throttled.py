"""429 answers of the account endpoints: the images envelope with Retry-After.

Throttling is decided by `services/throttle.py`; the routes that throttle (sign-up, sign-in,
change-password, feedback) catch `TooManyAttempts` and answer with this.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from exif_service.domain.errors import TooManyAttempts


def too_many_attempts(error: TooManyAttempts) -> JSONResponse:
    """`429 {"ok": false, "error": "too_many_attempts", "message"}` with `Retry-After`."""
    body = {"ok": False, "error": "too_many_attempts", "message": error.message}
    headers = {"Retry-After": str(error.retry_after)}
    return JSONResponse(body, status_code=429, headers=headers)
