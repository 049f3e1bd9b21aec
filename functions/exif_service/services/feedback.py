"""Feedback and feature requests from users and visitors."""

from __future__ import annotations

from dataclasses import dataclass

from exif_service.domain.accounts import Account
from exif_service.domain.errors import BadRequest
from exif_service.services.accounts import valid_email
from exif_service.services.throttle import count_feedback
from exif_service.store.feedback import save_feedback

KINDS = ("feedback", "feature")
MIN_MESSAGE = 10
MAX_MESSAGE = 5000
MAX_SUBJECT = 200
MAX_NAME = 100
MAX_SOURCE_PATH = 500


@dataclass(frozen=True)
class FeedbackIn:
    kind: object
    message: object
    subject: object = None
    name: object = None
    email: object = None
    source_path: object = None


def _optional_text(value: object, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be text.")
    text = value.strip()
    if len(text) > limit:
        raise BadRequest(f"{field} must be at most {limit} characters.")
    return text or None


def submit(entry: FeedbackIn, account: Account | None, address: str = "unknown") -> str:
    """Validate and store a submission; guests must leave an email. Returns its id.

    Submissions are counted per client `address` (429 past the allowance, services/throttle.py).
    """
    count_feedback(address)
    if entry.kind not in KINDS:
        raise BadRequest("type must be 'feedback' or 'feature'.")
    message = _optional_text(entry.message, "message", MAX_MESSAGE) or ""
    if len(message) < MIN_MESSAGE:
        raise BadRequest(f"message must be at least {MIN_MESSAGE} characters.")
    email_text = _optional_text(entry.email, "email", 254)
    if email_text is None and account is None:
        raise BadRequest("email is required when you are not signed in.")
    email = valid_email(email_text) if email_text else account.email if account else None
    return save_feedback(
        kind=str(entry.kind),
        message=message,
        subject=_optional_text(entry.subject, "subject", MAX_SUBJECT),
        name=_optional_text(entry.name, "name", MAX_NAME),
        email=email,
        source_path=_optional_text(entry.source_path, "sourcePath", MAX_SOURCE_PATH),
        user_id=account.user_id if account else None,
    )
