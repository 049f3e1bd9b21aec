"""template.yaml keeps the stack operable: every function, table, the API and the upload
processor have alarms that notify one topic, failed asynchronous events land in a dead-letter
queue, and the dashboard shows every function and table (infra/README.md explains them)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from tests.infra.test_template import FUNCTIONS, TABLES, resources, template

ALARMS = resources("AWS::CloudWatch::Alarm")
TOPIC = {"Ref": "AlarmTopic"}
DLQ_ARN = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
# invoked asynchronously (S3 events, EventBridge Scheduler): their failures must not vanish
ASYNC_FUNCTIONS = ("S3ProcessorFunction", "UsageJobFunction", "PurgeJobFunction")


def _dimensions(metric: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


def _metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric an alarm watches, whether a single metric or metric math."""
    if "MetricName" in alarm:
        return [alarm]
    return [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if "MetricStat" in q]


def _alarms_on(namespace: str, name: str, value: Any) -> dict[str, dict[str, Any]]:
    """Alarms watching a metric of `namespace` whose dimension `name` is `value`."""
    return {
        logical_id: alarm
        for logical_id, alarm in ALARMS.items()
        for metric in _metric_stats(alarm)
        if metric["Namespace"] == namespace and _dimensions(metric).get(name) == value
    }


def _timeout_s(function: str) -> int:
    timeout: int = FUNCTIONS[function].get("Timeout", template()["Globals"]["Function"]["Timeout"])
    return timeout


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_alarms_on_errors_throttles_and_duration_near_its_timeout(
    function: str,
) -> None:
    alarms = _alarms_on("AWS/Lambda", "FunctionName", {"Ref": function})
    by_metric = {a["MetricName"]: a for a in alarms.values() if "MetricName" in a}
    assert {"Errors", "Throttles", "Duration"} <= set(by_metric), function

    for metric in ("Errors", "Throttles"):
        alarm = by_metric[metric]
        assert alarm["Statistic"] == "Sum"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    duration = by_metric["Duration"]
    assert duration["Statistic"] == "Maximum"
    assert duration["ComparisonOperator"] == "GreaterThanThreshold"
    # Duration is in milliseconds, Timeout in seconds: the alarm sounds at 80% of the limit
    assert duration["Threshold"] == _timeout_s(function) * 1000 * 8 // 10


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears() -> None:
    assert len(ALARMS) >= 3 * len(FUNCTIONS) + len(TABLES) + 3
    for logical_id, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [TOPIC], logical_id
        assert alarm["OKActions"] == [TOPIC], logical_id
        # no traffic is no trouble: an idle function must not sit in ALARM or INSUFFICIENT_DATA
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
        assert alarm["AlarmDescription"]["Fn::Sub"].startswith("${AWS::StackName}: ")


def _condition_holds(expr: Any, parameters: dict[str, str]) -> Any:
    """Evaluate the intrinsic functions a condition uses (Fn::Not, Fn::Equals, Ref)."""
    if isinstance(expr, dict):
        [(fn, arg)] = expr.items()
        if fn == "Ref":
            return parameters[arg]
        if fn == "Fn::Not":
            return not _condition_holds(arg[0], parameters)
        if fn == "Fn::Equals":
            return _condition_holds(arg[0], parameters) == _condition_holds(arg[1], parameters)
        raise AssertionError(f"unexpected {fn} in a condition")
    return expr


@pytest.mark.parametrize(
    ("email", "subscribed"), [("", False), ("ops@example.com", True), ("a.b+alerts@x.co", True)]
)
def test_alarm_email_subscribes_to_the_topic_only_when_given(email: str, subscribed: bool) -> None:
    parameter = template()["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], email)

    subscription = template()["Resources"]["AlarmEmailSubscription"]
    condition = template()["Conditions"][subscription["Condition"]]
    assert _condition_holds(condition, {"AlarmEmail": email}) is subscribed
    props = subscription["Properties"]
    assert props == {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    # the topic itself is unconditional: alarms always have somewhere to go
    topic = template()["Resources"]["AlarmTopic"]
    assert "Condition" not in topic
    # CloudWatch cannot publish to a topic under the AWS-managed SNS key
    assert topic["Properties"].get("KmsMasterKeyId") != "alias/aws/sns"


@pytest.mark.parametrize("email", ["not an address", "two@at@example.com", "ops@example.com "])
def test_alarm_email_parameter_refuses_what_is_not_one_address(email: str) -> None:
    assert not re.fullmatch(template()["Parameters"]["AlarmEmail"]["AllowedPattern"], email)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_alarms_when_its_reads_or_writes_are_throttled(table: str) -> None:
    alarms = _alarms_on("AWS/DynamoDB", "TableName", {"Ref": table})
    assert len(alarms) == 1, f"{table}: add it to the table throttle alarms in template.yaml"
    [alarm] = alarms.values()
    watched = {m["MetricName"] for m in _metric_stats(alarm)}
    assert watched == {"ReadThrottleEvents", "WriteThrottleEvents"}
    [expression] = [q for q in alarm["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "FILL(reads, 0) + FILL(writes, 0)"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_api_alarms_on_its_share_of_5xx_answers() -> None:
    alarm = ALARMS["Api5xxRateAlarm"]
    metrics = {q["Id"]: q for q in alarm["Metrics"]}
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "5xx"
    assert metrics["requests"]["MetricStat"]["Metric"]["MetricName"] == "Count"
    for query in ("errors", "requests"):
        metric = metrics[query]["MetricStat"]["Metric"]
        assert (metric["Namespace"], _dimensions(metric)) == (
            "AWS/ApiGateway",
            {"ApiId": {"Ref": "HttpApi"}},
        )
        assert metrics[query]["ReturnData"] is False
    assert "100 * FILL(errors, 0) / requests" in metrics["rate"]["Expression"]
    assert alarm["Threshold"] == 1  # percent


@pytest.mark.parametrize("function", ASYNC_FUNCTIONS)
def test_failed_asynchronous_events_go_to_the_dead_letter_queue(function: str) -> None:
    config = FUNCTIONS[function]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": DLQ_ARN}


def test_dead_letter_queue_keeps_messages_two_weeks_and_alarms_on_any() -> None:
    queue = resources("AWS::SQS::Queue")["DeadLetterQueue"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    alarms = _alarms_on("AWS/SQS", "QueueName", {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]})
    [alarm] = alarms.values()
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_upload_processor_alarms_when_an_event_is_lost_beyond_the_dead_letter_queue() -> None:
    alarm = ALARMS["S3ProcessorLostEventsAlarm"]
    metrics = _metric_stats(alarm)
    assert {m["MetricName"] for m in metrics} == {
        "AsyncEventsDropped",
        "DestinationDeliveryFailures",
    }
    assert all(_dimensions(m) == {"FunctionName": {"Ref": "S3ProcessorFunction"}} for m in metrics)


def _translated() -> dict[str, Any]:
    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    # local paths become S3 locations at package time; the translator wants them already
    packaged = copy.deepcopy(template())
    packaged["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    for res in packaged["Resources"].values():
        if res["Type"] == "AWS::Serverless::LayerVersion":
            res["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
    translated: dict[str, Any] = transform(packaged, {}, _NoManagedPolicies())
    return translated


def test_only_the_asynchronous_functions_may_send_to_the_dead_letter_queue() -> None:
    roles = {
        name[: -len("Role")]: res["Properties"]
        for name, res in _translated()["Resources"].items()
        if res["Type"] == "AWS::IAM::Role"
    }
    senders = {}
    for function, role in roles.items():
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if "sqs:" in json.dumps(statement["Action"]):
                    senders[function] = statement
    assert set(senders) == set(ASYNC_FUNCTIONS)
    for statement in senders.values():
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == DLQ_ARN


def _dashboard() -> dict[str, Any]:
    """The dashboard body as CloudWatch receives it, every ${X} replaced by the name X."""
    body = resources("AWS::CloudWatch::Dashboard")["Dashboard"]["DashboardBody"]["Fn::Sub"]
    for name in re.findall(r"\$\{([^}]+)\}", body):
        resource = name.split(".")[0]
        assert resource in template()["Resources"] or name == "AWS::Region", name
    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", r"\1", body))
    return parsed


def _dashboard_series() -> set[tuple[str, str, str, str]]:
    """(namespace, metric, dimension, value) of every line; "." and "..." shorthands resolved."""
    series = set()
    for widget in _dashboard()["widgets"]:
        previous: list[str] = []
        for row in widget["properties"].get("metrics", []):
            fields = [f for f in row if not isinstance(f, dict)]
            if fields == ["..."]:
                fields = previous
            fields = [previous[i] if f == "." else f for i, f in enumerate(fields)]
            series.add((fields[0], fields[1], fields[2], fields[3]))
            previous = fields
    return series


@pytest.mark.parametrize("metric", ["Invocations", "Errors", "Duration", "Throttles"])
def test_dashboard_shows_every_function(metric: str) -> None:
    shown = {
        v
        for ns, m, d, v in _dashboard_series()
        if (ns, m, d) == ("AWS/Lambda", metric, "FunctionName")
    }
    assert shown == set(FUNCTIONS)


@pytest.mark.parametrize(
    "metric",
    [
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ],
)
def test_dashboard_shows_every_table(metric: str) -> None:
    shown = {
        v
        for ns, m, d, v in _dashboard_series()
        if (ns, m, d) == ("AWS/DynamoDB", metric, "TableName")
    }
    assert shown == set(TABLES)


def test_dashboard_shows_api_traffic_errors_latency_and_dead_letters() -> None:
    series = _dashboard_series()
    for metric in ("Count", "4xx", "5xx", "Latency"):
        assert ("AWS/ApiGateway", metric, "ApiId", "HttpApi") in series
    dead_letters = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
    assert (*dead_letters, "DeadLetterQueue.QueueName") in series
    assert resources("AWS::CloudWatch::Dashboard")["Dashboard"]["DashboardName"] == {
        "Ref": "AWS::StackName"
    }


def test_outputs_name_what_the_smoke_test_and_the_redrive_need() -> None:
    outputs = template()["Outputs"]
    assert outputs["UsageJobFunctionName"]["Value"] == {"Ref": "UsageJobFunction"}
    assert outputs["PurgeJobFunctionName"]["Value"] == {"Ref": "PurgeJobFunction"}
    assert outputs["S3ProcessorFunctionName"]["Value"] == {"Ref": "S3ProcessorFunction"}
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["AlarmTopicArn"]["Value"] == TOPIC
    assert "DashboardUrl" in outputs and "ApiUrl" in outputs
