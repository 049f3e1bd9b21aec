"""Which store errors are transient faults (503 + Retry-After) and which are answers or bugs.

Recognised by type and error code through the wrappers pynamodb and boto3 put around them,
never by message text.
"""

from __future__ import annotations

import pytest
from boto3.exceptions import RetriesExceededError, S3UploadFailedError
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pynamodb.exceptions import DoesNotExist, GetError, PutError, QueryError, UpdateError

from exif_service.domain.errors import StoreUnavailable
from exif_service.store.conditional import conditional_write
from exif_service.store.faults import fault_of, translated


def _client_error(code: str, status: int = 400, message: str = "x") -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
    response["ResponseMetadata"]["HTTPStatusCode"] = status  # type: ignore[index]
    return ClientError(response, "PutItem")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ThrottlingException"),
        _client_error("ProvisionedThroughputExceededException"),
        _client_error("RequestLimitExceeded"),
        _client_error("SlowDown", 503),
        _client_error("InternalServerError", 500),
        _client_error("SomethingNew", 502),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
        ConnectionClosedError(endpoint_url="http://127.0.0.1:1"),
    ],
    ids=lambda e: e.response["Error"]["Code"] if isinstance(e, ClientError) else type(e).__name__,
)
def test_throttles_server_errors_and_broken_connections_are_faults(error: Exception) -> None:
    for wrapped in (error, PutError("w", error), GetError("w", error), QueryError("w", error)):
        assert fault_of(wrapped) is error


def test_the_upload_wrapper_is_seen_through_its_chain() -> None:
    cause = _client_error("SlowDown", 503)
    try:
        try:
            raise cause
        except ClientError:
            raise S3UploadFailedError("Failed to upload") from None  # as boto3 raises it
    except S3UploadFailedError as exc:
        assert fault_of(exc) is cause


def test_a_download_that_ran_out_of_retries_is_a_fault() -> None:
    cause = ReadTimeoutError(endpoint_url="http://127.0.0.1:1")
    assert fault_of(RetriesExceededError(cause)) is cause


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ConditionalCheckFailedException"),
        _client_error("ValidationException"),
        _client_error("AccessDenied", 403),
        _client_error("NoSuchKey", 404),
        # the message says "throttling", the code does not: it is not read
        _client_error("ValidationException", message="ThrottlingException SlowDown"),
        DoesNotExist(),
        ValueError("Throttling"),
    ],
)
def test_answers_and_bugs_are_not_faults(error: Exception) -> None:
    assert fault_of(error) is None
    assert fault_of(UpdateError("w", error)) is None


def test_translated_raises_store_unavailable_from_the_fault_and_passes_the_rest() -> None:
    with pytest.raises(StoreUnavailable) as caught, translated():
        raise PutError("w", _client_error("ThrottlingException"))
    assert isinstance(caught.value.__cause__, PutError)
    assert caught.value.retry_after > 0
    with pytest.raises(ValueError), translated():
        raise ValueError("a bug stays a bug")


def test_a_failed_condition_is_an_answer_and_a_throttled_one_a_fault() -> None:
    def refused() -> None:
        raise UpdateError("w", _client_error("ConditionalCheckFailedException"))

    def throttled() -> None:
        raise UpdateError("w", _client_error("ProvisionedThroughputExceededException"))

    assert conditional_write(refused) is False
    with pytest.raises(StoreUnavailable):
        conditional_write(throttled)
