"""Domain errors. Each surface maps these types to its own status codes and envelopes.

ServiceError
 +-- BadRequest               the caller sent something unusable (400)
 |    +-- EmailTaken          sign-up with an email that already has an account
 |    +-- KeyLimitReached     the user already has as many live API keys as allowed
 |    +-- UnsafeTag           a tag name or value that could become an ExifTool option
 |    +-- UnsafeUrl           a URL that is not http(s) or reaches a non-public address
 |    +-- FetchFailed         the URL could not be downloaded
 +-- Unauthorized             no credentials, or credentials we do not know (401)
 +-- Forbidden                known caller, not allowed (403)
 |    +-- PlanRequired        the feature or key needs a higher plan (403 + upgradeUrl)
 +-- NotFound                 nothing with that id for this caller (404)
 +-- Gone                     it existed but its retention window has passed (410)
 +-- FileTooLarge             over the size limit (413)
 +-- UnsupportedFile          the engine cannot read or write this kind of file (415)
 +-- Unprocessable            a file of a known kind the engine will not hand back or parse (422)
 |    +-- VerificationFailed  the re-read output still holds what was removed, or lacks what
 |    |                       was written, or no longer decodes: nothing is returned or charged
 |    +-- FileTooComplex      metadata built to cost super-linear parsing time (deep nesting...)
 |                            or that held ExifTool past its deadline (EngineTimeout)
 +-- QuotaExceeded            the daily plan limit is used up (429)
 +-- TooManyAttempts          sign-in failures, sign-ups or feedback from one account or address
 |                            past their allowance (429 + Retry-After, rendered by the auth and
 |                            feedback routes)
 +-- ServiceUnavailable       a configured dependency is missing (503)
 |    +-- StoreUnavailable    DynamoDB or S3 failed, throttled, refused or timed out
 |                            (503 + Retry-After; the charge is given back)
 +-- EngineFailure            ExifTool failed or died (500, details logged only)
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service reports to a caller; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ServiceError):
    pass


class EmailTaken(BadRequest):
    pass


class KeyLimitReached(BadRequest):
    pass


class UnsafeTag(BadRequest):
    pass


class UnsafeUrl(BadRequest):
    pass


class FetchFailed(BadRequest):
    pass


class Unauthorized(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class PlanRequired(Forbidden):
    pass


class NotFound(ServiceError):
    pass


class Gone(ServiceError):
    pass


class FileTooLarge(ServiceError):
    pass


class UnsupportedFile(ServiceError):
    pass


class Unprocessable(ServiceError):
    pass


class VerificationFailed(Unprocessable):
    pass


class FileTooComplex(Unprocessable):
    pass


class QuotaExceeded(ServiceError):
    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class TooManyAttempts(ServiceError):
    """Throttled: the same request may be sent again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(ServiceError):
    pass


class StoreUnavailable(ServiceUnavailable):
    """A transient storage fault: the caller may send the same request again after a pause."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class EngineFailure(ServiceError):
    pass
