"""Feedback and feature requests in DynamoDB."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from exif_service.store.faults import translate_faults
from exif_service.store.models import Feedback


@translate_faults
def save_feedback(
    *,
    kind: str,
    message: str,
    subject: str | None,
    name: str | None,
    email: str | None,
    source_path: str | None,
    user_id: str | None,
) -> str:
    """Store one submission; returns its id."""
    feedback_id = uuid.uuid4().hex
    Feedback(
        feedback_id=feedback_id,
        type=kind,
        subject=subject,
        message=message,
        name=name,
        email=email,
        source_path=source_path,
        user_id=user_id,
        created_at=datetime.now(UTC),
    ).save()
    return feedback_id


@translate_faults
def get_feedback(feedback_id: str) -> Feedback | None:
    """One stored submission (operators and tests read them back)."""
    try:
        return Feedback.get(feedback_id)
    except DoesNotExist:
        return None
