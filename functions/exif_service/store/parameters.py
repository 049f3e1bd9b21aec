"""Secrets in SSM Parameter Store (SecureString), read and decrypted at run time.

The deployment passes only parameter names to the functions, so no secret is ever in the
template, a stack parameter or the function's environment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

_BATCH = 10  # GetParameters accepts at most ten names


def read_secure_parameters(
    names: Sequence[str], region: str, endpoint_url: str | None
) -> dict[str, str]:
    """The decrypted values of those of `names` that exist."""
    # Its own client: this runs while get_settings() is still building the settings that the
    # cached clients in store/aws.py read. boto3 is imported only when parameters are named, so
    # the functions that name none do not load it at every cold start.
    import boto3

    ssm = boto3.client("ssm", region_name=region, endpoint_url=endpoint_url)
    values: dict[str, str] = {}
    for start in range(0, len(names), _BATCH):
        batch = list(names[start : start + _BATCH])
        answer = ssm.get_parameters(Names=batch, WithDecryption=True)
        for parameter in answer.get("Parameters", []):
            values[parameter["Name"]] = parameter["Value"]
        missing = answer.get("InvalidParameters") or []
        if missing:
            # the feature stays off (billing answers 503, callbacks are refused) until it exists
            log.warning("SSM parameters not found: %s", ", ".join(sorted(missing)))
    return values
