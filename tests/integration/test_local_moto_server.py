"""The local emulator's server: kept-alive connections, exact request framing, and moto's
answers unchanged by what it remembers between requests."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest

from exif_service.local.emulator import LocalAws
from exif_service.settings import Settings
from exif_service.store.aws import reset_clients


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")  # use_endpoint sets it; undone after the test
    emulator = LocalAws()
    emulator.start(persist=False)
    yield emulator
    emulator.stop()
    reset_clients()


def _address(emulator: LocalAws) -> tuple[str, int]:
    parts = urlsplit(emulator.endpoint)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _connect(emulator: LocalAws) -> socket.socket:
    sock = socket.create_connection(_address(emulator), timeout=30)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _settings(emulator: LocalAws) -> Settings:
    settings = emulator._settings
    return settings


def _signed(emulator: LocalAws, operation: str, key: str) -> bytes:
    """The path and query of a presigned S3 URL (the bucket refuses unsigned requests)."""
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint)
    url = s3.generate_presigned_url(
        operation, Params={"Bucket": _settings(emulator).bucket, "Key": key}, ExpiresIn=600
    )
    s3.close()
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}".encode()


def test_one_botocore_client_makes_all_its_store_calls_over_one_connection(
    local_aws: LocalAws,
) -> None:
    settings = _settings(local_aws)
    dynamodb = boto3.client("dynamodb", endpoint_url=local_aws.endpoint)
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    table = settings.table_name("files")
    before = local_aws.connections_accepted
    for i in range(20):
        dynamodb.put_item(
            TableName=table, Item={"file_id": {"S": f"f{i}"}, "owner_id": {"S": "user#k"}}
        )
        got = dynamodb.get_item(TableName=table, Key={"file_id": {"S": f"f{i}"}})
        assert got["Item"]["owner_id"] == {"S": "user#k"}
        s3.put_object(Bucket=settings.bucket, Key=f"k/{i}", Body=b"x" * i)
        assert s3.get_object(Bucket=settings.bucket, Key=f"k/{i}")["Body"].read() == b"x" * i
        assert s3.head_object(Bucket=settings.bucket, Key=f"k/{i}")["ContentLength"] == i
    # 100 calls, two clients: one connection each, every call after the first reuses it
    assert local_aws.connections_accepted - before == 2
    dynamodb.close()
    s3.close()


def test_a_body_that_looks_like_a_request_is_stored_as_a_body_not_answered(
    local_aws: LocalAws,
) -> None:
    smuggled = b"DELETE " + _signed(local_aws, "delete_object", "keep") + b" HTTP/1.1\r\n\r\n"
    with _connect(local_aws) as sock:
        sock.sendall(
            b"PUT " + _signed(local_aws, "put_object", "keep") + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: " + str(len(smuggled)).encode() + b"\r\n\r\n" + smuggled
        )
        sock.sendall(
            b"GET " + _signed(local_aws, "get_object", "keep") + b" HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n"
        )
        answers = _read_until_closed(sock)
    # two answers: the PUT's and the GET's, whose body is the smuggled text, stored as data
    assert answers.count(b"HTTP/1.1 200") == 2
    assert answers.endswith(smuggled)


def test_a_chunked_upload_is_stored_whole_and_its_connection_serves_the_next_request(
    local_aws: LocalAws,
) -> None:
    put_path = _signed(local_aws, "put_object", "chunked").decode()
    get_path = _signed(local_aws, "get_object", "chunked").decode()
    before = local_aws.connections_accepted
    connection = http.client.HTTPConnection(*_address(local_aws), timeout=30)
    try:
        parts = [b"first part ", b"\r\n0\r\n\r\n", b"x" * 70_000]  # framing-like bytes too
        connection.request("PUT", put_path, body=iter(parts), encode_chunked=True)
        put = connection.getresponse()
        put.read()
        assert put.status == 200
        connection.request("GET", get_path)
        got = connection.getresponse()
        assert got.status == 200 and got.read() == b"".join(parts)
    finally:
        connection.close()
    assert local_aws.connections_accepted - before == 1


def test_a_large_upload_sent_after_100_continue_is_stored_whole_on_a_reused_connection(
    local_aws: LocalAws,
) -> None:
    bucket = _settings(local_aws).bucket
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    big = bytes(range(256)) * (8 * 1024 + 7)  # 2 MB: botocore asks for 100-continue
    before = local_aws.connections_accepted
    for key in ("big/1", "big/2"):
        s3.put_object(Bucket=bucket, Key=key, Body=big)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == big
    assert local_aws.connections_accepted - before == 1
    s3.close()


def test_expect_100_continue_is_answered_before_the_body_is_sent(local_aws: LocalAws) -> None:
    with _connect(local_aws) as sock:
        sock.sendall(
            b"PUT " + _signed(local_aws, "put_object", "expect") + b" HTTP/1.1\r\nHost: x\r\n"
            b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"hello")
        sock.sendall(
            b"GET " + _signed(local_aws, "get_object", "expect") + b" HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n"
        )
        answers = _read_until_closed(sock)
    assert answers.count(b"HTTP/1.1 200") == 2 and answers.endswith(b"\r\n\r\nhello")


@pytest.mark.parametrize("length", [b"-5", b"ten", b"1e3", b"+3", b"0_3", b"\xb3"])
def test_a_bad_content_length_gets_400_and_the_connection_closed(
    local_aws: LocalAws, length: bytes
) -> None:
    bucket = _settings(local_aws).bucket
    with _connect(local_aws) as sock:
        sock.sendall(
            b"PUT /" + bucket.encode() + b"/bad HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: " + length + b"\r\n\r\nabc"
        )
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Traceback" not in answer


def test_a_broken_chunked_body_is_refused_and_the_emulator_keeps_serving(
    local_aws: LocalAws,
) -> None:
    with _connect(local_aws) as sock:
        sock.sendall(
            b"PUT " + _signed(local_aws, "put_object", "broken") + b" HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n"
        )
        answer = _read_until_closed(sock)
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 500"))
    assert b"Traceback" not in answer
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    listed = s3.list_objects_v2(Bucket=_settings(local_aws).bucket).get("Contents", [])
    assert "broken" not in [obj["Key"] for obj in listed]
    s3.close()


def test_a_client_gone_mid_body_leaves_the_emulator_serving(local_aws: LocalAws) -> None:
    bucket = _settings(local_aws).bucket
    with _connect(local_aws) as sock:
        sock.sendall(
            b"PUT /" + bucket.encode() + b"/half HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100000\r\n\r\nonly this much"
        )
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    s3.put_object(Bucket=bucket, Key="after", Body=b"fine")
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"fine"
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert "half" not in [obj["Key"] for obj in listed]  # half a body is never stored
    s3.close()


def test_an_http_1_0_client_gets_its_answer_and_a_close(local_aws: LocalAws) -> None:
    bucket = _settings(local_aws).bucket
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint)
    s3.put_object(Bucket=bucket, Key="old", Body=b"from an old client")
    s3.close()
    with _connect(local_aws) as sock:
        sock.sendall(b"GET " + _signed(local_aws, "get_object", "old") + b" HTTP/1.0\r\n\r\n")
        answer = _read_until_closed(sock)  # the server closes: it would hang otherwise
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"\r\n\r\nfrom an old client")


def test_stopping_the_emulator_ends_its_idle_kept_alive_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    emulator = LocalAws()
    emulator.start(persist=False)
    try:
        connection = http.client.HTTPConnection(*_address(emulator), timeout=30)
        connection.request("GET", f"/{_settings(emulator).bucket}?list-type=2")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200 and not answer.will_close  # kept alive, now idle
        assert connection.sock is not None
        idle = connection.sock
    finally:
        emulator.stop()
        reset_clients()
    assert idle.recv(1) == b""  # closed by the stop, not left to a thread waiting on it
    connection.close()


def test_host_dispatch_answers_as_moto_does_and_remembers_it() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from exif_service.local.moto_server import HostDispatcher

    ours, moto = HostDispatcher(), DomainDispatcherApplication(create_backend_app)
    hosts = [
        "dynamodb",
        "s3",
        "moto_api",
        "s3.us-east-1.amazonaws.com",
        "dynamodb.eu-west-1.amazonaws.com",
        "sts.amazonaws.com",
        "no-such-service.example",
        None,
    ]
    for _ in range(2):  # the second pass answers from memory
        assert [ours.get_backend_for_host(h) for h in hosts] == [
            moto.get_backend_for_host(h) for h in hosts
        ]
    assert ours.get_backend_for_host("dynamodb") == "dynamodb"
    assert ours.get_backend_for_host("s3.us-east-1.amazonaws.com") == "s3"


def test_moto_asks_for_method_names_where_the_memo_answers_and_gets_the_same_names(
    local_aws: LocalAws,
) -> None:
    """Fails if moto stops calling `method_names_from_class` from `moto.core.responses`,
    leaving the memo dead, or if the memo's names differ from moto's own answer."""
    from moto.core import utils
    from moto.core.responses import BaseResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.s3.responses import S3Response

    memo = BaseResponse.call_action.__globals__["method_names_from_class"]
    assert memo is not utils.method_names_from_class
    for response_class in (DynamoHandler, S3Response):
        assert memo(response_class) == utils.method_names_from_class(response_class)
    dynamodb = boto3.client("dynamodb", endpoint_url=local_aws.endpoint)
    hits = memo.cache_info().hits
    for _ in range(3):
        assert "TableNames" in dynamodb.list_tables()
    assert memo.cache_info().hits >= hits + 3  # the server's requests went through the memo
    dynamodb.close()
