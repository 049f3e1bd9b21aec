"""Redrive the dead-letter queue: run each failed event again on the function that failed it,
and delete the message once that function succeeds.

The S3 upload processor and the scheduled jobs are invoked asynchronously; an event they still
fail after Lambda's two retries lands in the stack's dead-letter queue as an invocation record
(the original event, the function, the error). Fix the cause first, then:

    .venv/bin/python infra/redrive.py --stack-name exif-prod            # list what waits
    .venv/bin/python infra/redrive.py --stack-name exif-prod --apply    # run again, delete

Each event is invoked synchronously, one at a time; a message whose function fails again, or
that is not an invocation record, stays in the queue (visible again when the run ends).
Uploads expire from `uploads/` after a day: the processor skips an upload that is gone, so
redrive upload failures within that day. Needs sqs:ReceiveMessage, sqs:DeleteMessage,
sqs:ChangeMessageVisibility on the queue and lambda:InvokeFunction on the functions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# a message is hidden from other readers while its event runs: longer than any function's
# timeout in template.yaml (the purge's 900 s)
INVOKE_VISIBILITY_S = 960
LIST_VISIBILITY_S = 60


@dataclass(frozen=True)
class Outcome:
    """What became of one dead-letter message."""

    message_id: str
    function: str | None
    status: str  # waiting (listed only), redriven, failed, unreadable
    detail: str


@dataclass(frozen=True)
class DeadEvent:
    """An invocation record from a Lambda on-failure destination."""

    function_name: str
    qualifier: str | None
    payload: dict[str, Any]
    failed_at: str
    condition: str
    error: str

    @classmethod
    def parse(cls, body: str) -> DeadEvent:
        record = json.loads(body)
        context = record["requestContext"]
        # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        parts = context["functionArn"].split(":")
        response = record.get("responsePayload") or {}
        error = (
            f"{response.get('errorType', '')}: {response.get('errorMessage', '')}"
            if isinstance(response, dict)
            else str(response)
        )
        return cls(
            function_name=":".join(parts[:7]),
            qualifier=parts[7] if len(parts) > 7 else None,
            payload=record["requestPayload"],
            failed_at=record.get("timestamp", "?"),
            condition=context.get("condition", "?"),
            error=error[:300],
        )


def _messages(sqs: Any, queue_url: str, visibility: int) -> Iterator[dict[str, Any]]:
    """Every message in the queue once (each stays hidden for `visibility` seconds)."""
    seen: set[str] = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def _invoke(lambda_: Any, event: DeadEvent) -> tuple[bool, str]:
    """Run the event again; (succeeded, the function's answer or error)."""
    kwargs: dict[str, Any] = {
        "FunctionName": event.function_name,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps(event.payload).encode(),
    }
    if event.qualifier:
        kwargs["Qualifier"] = event.qualifier
    try:
        response = lambda_.invoke(**kwargs)
    except Exception as exc:  # an API error (gone function, no permission): keep the message
        return False, f"{type(exc).__name__}: {exc}"
    answer = response["Payload"].read().decode(errors="replace")
    return "FunctionError" not in response, answer


def redrive(
    sqs: Any,
    lambda_: Any,
    queue_url: str,
    *,
    apply: bool,
    out: Callable[[str], None],
) -> list[Outcome]:
    """List (apply=False) or redrive (apply=True) every message in the dead-letter queue."""
    outcomes: list[Outcome] = []
    keep: list[str] = []  # receipt handles to make visible again at the end
    visibility = INVOKE_VISIBILITY_S if apply else LIST_VISIBILITY_S
    for message in _messages(sqs, queue_url, visibility):
        message_id = message["MessageId"]
        try:
            event = DeadEvent.parse(message["Body"])
        except (ValueError, KeyError, TypeError, AttributeError):
            outcome = Outcome(message_id, None, "unreadable", message["Body"][:200])
        else:
            if not apply:
                detail = f"{event.failed_at} {event.condition} {event.error}"
                outcome = Outcome(message_id, event.function_name, "waiting", detail)
            else:
                ok, answer = _invoke(lambda_, event)
                outcome = Outcome(
                    message_id, event.function_name, "redriven" if ok else "failed", answer
                )
        if outcome.status == "redriven":
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            keep.append(message["ReceiptHandle"])
        outcomes.append(outcome)
        name = outcome.function.rsplit(":", 1)[-1] if outcome.function else "-"
        out(f"{outcome.status:<10} {message_id} {name} {outcome.detail[:300]}")
    for handle in keep:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("waiting", "redriven", "failed")}
    unreadable = sum(o.status == "unreadable" for o in outcomes)
    out(
        f"{len(outcomes)} message(s): {counts['waiting']} waiting, {counts['redriven']} redriven, "
        f"{counts['failed']} failed again, {unreadable} unreadable"
    )
    return outcomes


def _queue_url(args: argparse.Namespace) -> str:
    if args.queue_url:
        queue_url: str = args.queue_url
        return queue_url
    import boto3

    cfn = boto3.client("cloudformation", region_name=args.region)
    [stack] = cfn.describe_stacks(StackName=args.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs["DeadLetterQueueUrl"]


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    import boto3
    from botocore.config import Config

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack-name", help="find the queue in this stack's outputs")
    where.add_argument("--queue-url", help="the dead-letter queue's URL")
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS config)")
    parser.add_argument("--apply", action="store_true", help="run the events again and delete")
    args = parser.parse_args(argv)

    queue_url = _queue_url(args)
    sqs = boto3.client("sqs", region_name=args.region)
    lambda_ = boto3.client(
        "lambda",
        region_name=args.region,
        config=Config(read_timeout=INVOKE_VISIBILITY_S, retries={"max_attempts": 0}),
    )
    outcomes = redrive(sqs, lambda_, queue_url, apply=args.apply, out=_say)
    return 1 if any(o.status in ("failed", "unreadable") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
