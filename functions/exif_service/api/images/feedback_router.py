"""Public feedback and feature requests."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from exif_service.api.images.deps import client_ip
from exif_service.api.images.errors import ImagesRoute
from exif_service.api.images.schemas import IMAGES_ERROR_EXAMPLES, FeedbackAck, ImagesError
from exif_service.api.images.session import account_from_session
from exif_service.api.images.throttled import too_many_attempts
from exif_service.api.openapi import (
    OPTIONAL_SESSION,
    error_responses,
    ok_response,
    throttled_response,
)
from exif_service.domain.errors import TooManyAttempts
from exif_service.services.feedback import FeedbackIn, submit
from exif_service.services.throttle import FEEDBACK

feedback_router = APIRouter(route_class=ImagesRoute, tags=["feedback"])

# Loosely typed on purpose: the service checks each field and names it in the 400.
Loose = str | int | float | bool | None


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Loose = None
    message: Loose = None
    subject: Loose = None
    name: Loose = None
    email: Loose = None
    source_path: Loose = Field(default=None, alias="sourcePath")


@feedback_router.post(
    "/api/feedback",
    openapi_extra=OPTIONAL_SESSION,
    responses={
        **ok_response(FeedbackAck, "Stored"),
        **error_responses(ImagesError, IMAGES_ERROR_EXAMPLES, (400, 403, 500, 503)),
        **throttled_response(ImagesError, FEEDBACK),
    },
)
def post_feedback(request: Request, body: FeedbackBody) -> JSONResponse:
    """Store feedback from a signed-in user or a guest (guests give an email); 429 with
    Retry-After past the submissions allowed from one address."""
    entry = FeedbackIn(
        kind=body.type,
        message=body.message,
        subject=body.subject,
        name=body.name,
        email=body.email,
        source_path=body.source_path,
    )
    try:
        feedback_id = submit(entry, account_from_session(request), client_ip(request))
    except TooManyAttempts as exc:
        return too_many_attempts(exc)
    return JSONResponse({"ok": True, "id": feedback_id})
