"""template.yaml agrees with the code: handlers import, routes reach the function that serves
them, tables match the pynamodb models, policies are scoped, the layer is where ExifTool runs."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model
from samtranslator.yaml_helper import yaml_parse

from exif_service.store.models import ALL_MODELS, table_key

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# functions that read no data at all (the web pages call the API from the browser)
NO_DATA = {"WebFunction"}
S3_PREFIXES = ("/results/*", "/uploads/*", "/reports/*", "/library/*")


@cache
def template() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
    return parsed


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: res["Properties"]
        for name, res in template()["Resources"].items()
        if res["Type"] == kind
    }


FUNCTIONS = resources("AWS::Serverless::Function")
TABLES = resources("AWS::DynamoDB::Table")


def handler_module(function: str) -> str:
    module, _, attr = FUNCTIONS[function]["Handler"].rpartition(".")
    assert attr == "handler"
    return module


def uses_engine(function: str) -> bool:
    """Whether the handler module starts ExifTool (directly, or via an engine-backed app)."""
    source = (ROOT / "functions" / (handler_module(function).replace(".", "/") + ".py")).read_text()
    starts = "engine_pool()" in source or "get_pool()" in source
    return starts or ("http_handler(" in source and "engine=False" not in source)


def http_routes() -> list[tuple[str, str, str]]:
    """(function, method, path) of every HttpApi event in the template."""
    routes = []
    for function, props in FUNCTIONS.items():
        for event in props.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                p = event["Properties"]
                routes.append((function, p["Method"].upper(), p["Path"]))
    return routes


def gateway_match(method: str, path: str) -> str | None:
    """The function API Gateway (HTTP API) sends a request to: the most specific route wins."""
    best: tuple[tuple[int, int, int], str] | None = None
    for function, route_method, template_path in http_routes():
        if route_method not in ("ANY", method):
            continue
        if template_path == "$default":
            score = (-1, 0, 0)
        else:
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\+\\\}", ".+", re.escape(template_path))
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", pattern) + "$"
            if not re.match(pattern, path):
                continue
            literal = sum(1 for part in template_path.split("/") if not part.startswith("{"))
            score = (0 if "+}" in template_path else 1, literal, int(route_method != "ANY"))
        if best is None or score > best[0]:
            best = (score, function)
    return best[1] if best else None


def app_routes(function: str) -> list[tuple[str, str]]:
    """(method, sample path) of every route of the routers the function's handler wires."""
    module = importlib.import_module(handler_module(function))
    routers = [value for value in vars(module).values() if isinstance(value, APIRouter)]
    out = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                sample = re.sub(r"\{[^}]+\}", "x1", route.path)
                out.extend((method, sample) for method in sorted(route.methods))
    return out


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_handler_in_the_template_imports_to_a_callable(function: str) -> None:
    module = importlib.import_module(handler_module(function))
    assert callable(module.handler)


@pytest.mark.parametrize("function", sorted({f for f, _, _ in http_routes()} - {"WebFunction"}))
def test_api_gateway_sends_every_route_of_a_function_to_that_function(function: str) -> None:
    routes = app_routes(function)
    assert routes, f"{function} serves no routes"
    for method, path in routes:
        assert gateway_match(method, path) == function, f"{method} {path}"


def test_paths_no_route_claims_reach_the_web_function() -> None:
    assert gateway_match("GET", "/") == "WebFunction"
    assert gateway_match("GET", "/static/app.js") == "WebFunction"
    for method, path in app_routes("WebFunction"):
        assert gateway_match(method, path) == "WebFunction", f"{method} {path}"


def _table_for(model: type[Model]) -> dict[str, Any]:
    wanted = {"Fn::Sub": f"${{AWS::StackName}}-{table_key(model)}"}
    found = [props for props in TABLES.values() if props["TableName"] == wanted]
    assert len(found) == 1, f"no single table named <stack>-{table_key(model)}"
    return found[0]


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(name, HASH|RANGE), hash key first, whatever order the source lists them in."""
    return sorted(((k["AttributeName"], k["KeyType"]) for k in schema), key=lambda k: k[1])


@pytest.mark.parametrize("model", ALL_MODELS, ids=table_key)
def test_every_table_matches_its_pynamodb_model(model: type[Model]) -> None:
    table = _table_for(model)
    schema = model._get_schema()

    assert _keys(table["KeySchema"]) == _keys(schema["key_schema"])
    defined = {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]}
    assert defined == {
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
    }
    indexes = {
        gsi["IndexName"]: (_keys(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in table.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        gsi["index_name"]: (_keys(gsi["key_schema"]), gsi["projection"]["ProjectionType"])
        for gsi in schema.get("global_secondary_indexes", [])
    }
    ttl = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    spec = table.get("TimeToLiveSpecification")
    assert (spec["AttributeName"] if spec and spec["Enabled"] else None) == (
        ttl[0] if ttl else None
    )
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}


def test_the_template_has_no_table_without_a_model() -> None:
    assert len(TABLES) == len(ALL_MODELS)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_function_has_the_exiftool_layer_exactly_when_it_runs_exiftool(function: str) -> None:
    layers = FUNCTIONS[function].get("Layers", [])
    assert ({"Ref": "ExifToolLayer"} in layers) == uses_engine(function)


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    return [s for p in policies if isinstance(p, dict) and "Statement" in p for s in p["Statement"]]


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - NO_DATA))
def test_every_function_has_policies_scoped_to_its_tables_and_bucket_prefixes(
    function: str,
) -> None:
    policies = FUNCTIONS[function].get("Policies", [])
    assert policies, f"{function} has no role policy"
    for policy in policies:
        assert isinstance(policy, dict), "managed policies by name are too broad"
        for name, args in policy.items():
            if name.startswith("DynamoDB"):
                assert args["TableName"]["Ref"] in TABLES
    for statement in _statements(policies):
        actions = statement["Action"]
        assert "*" not in str(actions)
        resources_ = statement["Resource"]
        for resource in resources_ if isinstance(resources_, list) else [resources_]:
            arn = resource["Fn::Sub"]
            if ":s3:::" in arn:
                assert arn.endswith(S3_PREFIXES), arn
            else:
                assert ":ssm:" in arn and "parameter${" in arn, arn


def test_functions_run_on_arm64_python_with_powertools_settings() -> None:
    glob = template()["Globals"]["Function"]
    assert glob["Architectures"] == ["arm64"]
    assert glob["Runtime"].startswith("python3.")
    assert glob["Tracing"] == "Active"
    env = glob["Environment"]["Variables"]
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_METRICS_NAMESPACE"):
        assert name in env
    assert env["EXIF_SERVICE_TABLE_PREFIX"] == {"Ref": "AWS::StackName"}
    assert env["EXIF_SERVICE_DOWNLOAD_REDIRECTS"] == "true"
    layer = template()["Resources"]["ExifToolLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["CompatibleRuntimes"] == [glob["Runtime"]]


def test_bucket_is_private_encrypted_tls_only_and_expires_temporary_files() -> None:
    bucket = resources("AWS::S3::Bucket")["FilesBucket"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    rules = bucket["LifecycleConfiguration"]["Rules"]
    expiry = {r.get("Prefix"): r.get("ExpirationInDays") for r in rules if r["Status"] == "Enabled"}
    assert expiry["results/"] == 1
    assert expiry["uploads/"] == 1
    assert any("AbortIncompleteMultipartUpload" in r and not r.get("Prefix") for r in rules)
    policy = resources("AWS::S3::BucketPolicy")["FilesBucketPolicy"]["PolicyDocument"]
    [deny] = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_uploads_under_the_uploads_prefix_trigger_the_processor() -> None:
    [event] = FUNCTIONS["S3ProcessorFunction"]["Events"].values()
    assert event["Type"] == "S3"
    assert event["Properties"]["Bucket"] == {"Ref": "FilesBucket"}
    assert event["Properties"]["Events"] == "s3:ObjectCreated:*"
    rules = event["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": "uploads/"}]


def test_usage_job_runs_at_midnight_utc_and_purge_every_hour() -> None:
    def schedule(function: str) -> dict[str, Any]:
        [event] = FUNCTIONS[function]["Events"].values()
        props: dict[str, Any] = event["Properties"]
        return props

    assert schedule("UsageJobFunction")["ScheduleExpression"] == "cron(0 0 * * ? *)"
    assert schedule("UsageJobFunction")["ScheduleExpressionTimezone"] == "UTC"
    assert schedule("PurgeJobFunction")["ScheduleExpression"] == "cron(0 * * * ? *)"


def test_secrets_are_passed_as_parameter_names_never_as_values() -> None:
    text = (ROOT / "template.yaml").read_text()
    assert "resolve:ssm:" not in text  # plain-text dynamic references end up in the template
    for name, parameter in template()["Parameters"].items():
        assert not parameter["Type"].startswith("AWS::SSM::Parameter::Value"), name
        if "Secret" in name:
            assert name.endswith("ParameterName")
            assert parameter["Default"].startswith("/")
    billing = FUNCTIONS["BillingFunction"]["Environment"]["Variables"]
    assert billing["EXIF_SERVICE_STRIPE_SECRET_PARAMETER"] == {"Ref": "StripeSecretParameterName"}


def test_template_passes_cfn_lint_and_sam_validate() -> None:
    lint = subprocess.run(
        [str(BIN / "cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    validate = subprocess.run(
        [str(BIN / "sam"), "validate", "--lint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
