"""Plain data and rules: no web framework, no AWS SDK, no subprocesses."""
