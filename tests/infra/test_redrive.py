"""infra/redrive.py against SQS and Lambda in moto: a failed event is sent again, unchanged, to
the function that failed it and deleted only when that succeeds; anything else stays queued."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from tests.conftest import load_event

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"infra_{name}", ROOT / "infra" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


redrive_module = _load("redrive")


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """A dead-letter queue and a processor function; moto's Lambda answers with the event."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam").create_role(
            RoleName="processor", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        code = BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("h.py", "def handler(event, context):\n    return event\n")
        function = boto3.client("lambda").create_function(
            FunctionName="exif-prod-S3ProcessorFunction-abc",
            Runtime="python3.12",
            Role=role,
            Handler="h.handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        queue_url = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        yield {"queue_url": queue_url, "function_arn": function}


def _dead_record(function_arn: str, event: dict[str, Any]) -> str:
    """What Lambda's on-failure destination puts in the queue after the last retry."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-28T23:00:00.000Z",
            "requestContext": {
                "requestId": "c1a7e6f0-0000-4000-8000-000000000000",
                "functionArn": f"{function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorType": "ClientError", "errorMessage": "throttled"},
        }
    )


def _queued(queue_url: str) -> list[str]:
    """Bodies of every message that can be received now."""
    sqs = boto3.client("sqs")
    bodies = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
    ).get("Messages", []):
        bodies.extend(m["Body"] for m in batch)
    return bodies


def _run(queue_url: str, *, apply: bool) -> tuple[list[Any], list[str]]:
    lines: list[str] = []
    outcomes = redrive_module.redrive(
        boto3.client("sqs"), boto3.client("lambda"), queue_url, apply=apply, out=lines.append
    )
    return outcomes, lines


def test_a_dead_upload_event_is_sent_again_unchanged_and_then_deleted(
    aws: dict[str, Any],
) -> None:
    event = load_event("s3_upload.json")
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=aws["queue_url"], MessageBody=_dead_record(aws["function_arn"], event)
    )

    [outcome], lines = _run(aws["queue_url"], apply=True)

    assert outcome.status == "redriven"
    assert outcome.function == aws["function_arn"]
    assert json.loads(outcome.detail) == event  # the function received the original event
    assert _queued(aws["queue_url"]) == []
    assert lines[-1].startswith("1 message(s): 0 waiting, 1 redriven, 0 failed again")


def test_listing_shows_each_failure_and_leaves_the_queue_as_it_was(aws: dict[str, Any]) -> None:
    body = _dead_record(aws["function_arn"], load_event("s3_upload.json"))
    boto3.client("sqs").send_message(QueueUrl=aws["queue_url"], MessageBody=body)

    [outcome], lines = _run(aws["queue_url"], apply=False)

    assert outcome.status == "waiting"
    assert "RetriesExhausted ClientError: throttled" in outcome.detail
    assert "exif-prod-S3ProcessorFunction-abc" in lines[0]
    assert _queued(aws["queue_url"]) == [body]  # visible again at once, not after a timeout


def _next_answer_is_a_function_error() -> None:
    """Queue moto's next Lambda answer: one over the 6 MB response cap, which Lambda (and
    moto) turn into an Unhandled function error."""
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/lambda-simple/response",
        json={"results": ["x" * 6_100_000], "region": "us-east-1"},
        timeout=30,
    ).raise_for_status()


def test_an_event_that_fails_again_and_an_unreadable_message_stay_queued(
    aws: dict[str, Any],
) -> None:
    kept = [_dead_record(aws["function_arn"], load_event("s3_upload.json")), "not a record"]
    sqs = boto3.client("sqs")
    for body in kept:
        sqs.send_message(QueueUrl=aws["queue_url"], MessageBody=body)
    _next_answer_is_a_function_error()

    outcomes, lines = _run(aws["queue_url"], apply=True)

    assert sorted(o.status for o in outcomes) == ["failed", "unreadable"]
    [failed] = [o for o in outcomes if o.status == "failed"]
    assert "Function.ResponseSizeTooLarge" in failed.detail
    assert sorted(_queued(aws["queue_url"])) == sorted(kept)  # visible again at once
    assert "1 failed again, 1 unreadable" in lines[-1]


def test_the_command_finds_the_queue_in_the_stack_outputs_and_exits_1_on_failures(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("cloudformation").create_stack(
        StackName="exif-prod",
        TemplateBody=json.dumps(
            {
                "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"DeadLetterQueueUrl": {"Value": aws["queue_url"]}},
            }
        ),
    )
    sqs = boto3.client("sqs")
    sqs.send_message(
        QueueUrl=aws["queue_url"],
        MessageBody=_dead_record(aws["function_arn"], load_event("s3_upload.json")),
    )
    assert redrive_module.main(["--stack-name", "exif-prod", "--region", "us-east-1"]) == 0
    assert "1 waiting" in capsys.readouterr().out

    assert redrive_module.main(["--stack-name", "exif-prod", "--apply"]) == 0
    sqs.send_message(QueueUrl=aws["queue_url"], MessageBody="garbage")
    assert redrive_module.main(["--queue-url", aws["queue_url"], "--apply"]) == 1
    assert _queued(aws["queue_url"]) == ["garbage"]
