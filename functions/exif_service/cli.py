"""The `exif-service` command: local server, admin tasks, and the engine from the shell.

Each command imports what it uses inside its own function: `exif-service extract` should not
load the web framework, boto3 and the AWS emulator that `serve` needs, nor `serve` the engine's
image libraries before the server is up.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from exif_service.domain.errors import ServiceError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"), stream=sys.stderr)
    try:
        code: int = args.func(args)
    except ServiceError as exc:
        print(json.dumps({"error": exc.message}), file=sys.stderr)
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exif-service", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the whole API locally on an embedded AWS emulator")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.set_defaults(func=_serve)

    admin = sub.add_parser("admin", help="operator tasks").add_subparsers(
        required=True, metavar="TASK"
    )
    create = admin.add_parser("create-user", help="create (or reuse) a user and print a new key")
    create.add_argument("--email", required=True)
    create.add_argument("--plan", choices=["free", "pro"], default=None)
    create.add_argument("--admin", action="store_true")
    create.add_argument("--password", default=None, help="set a password for the web sign-in")
    create.set_defaults(func=_create_user)

    plan = admin.add_parser("set-plan", help="move a user to another plan")
    plan.add_argument("--email", required=True)
    plan.add_argument("--plan", choices=["free", "pro"], required=True)
    plan.set_defaults(func=_set_plan)

    extract = sub.add_parser("extract", help="print the metadata of files as JSON (no server)")
    extract.add_argument("files", nargs="+", type=Path)
    extract.set_defaults(func=_extract)

    remove = sub.add_parser("remove", help="write a copy of FILE without metadata (no server)")
    remove.add_argument("file", type=Path)
    remove.add_argument("-o", "--output", type=Path, required=True)
    remove.add_argument(
        "--preset",
        default=None,
        help="safe (default: all but colour profile and orientation), all, location, sensitive",
    )
    remove.add_argument(
        "--keep", default=None, help="tags to keep besides: Tag,Group:Tag,Group:all"
    )
    remove.set_defaults(func=_remove)

    jobs = sub.add_parser("jobs", help="run a scheduled job now").add_subparsers(
        required=True, metavar="JOB"
    )
    reset = jobs.add_parser("usage-reset", help="report yesterday's usage, drop old counters")
    reset.set_defaults(func=_run_job, job="usage-reset")
    purge = jobs.add_parser("purge", help="soft-delete expired files, purge old deleted ones")
    purge.set_defaults(func=_run_job, job="purge")
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from exif_service.local.emulator import EmulatorProcess, clear_state, write_state
    from exif_service.local.server import server_config
    from exif_service.settings import get_settings

    settings = get_settings()
    emulator: EmulatorProcess | None = None
    if not settings.aws_endpoint_url and not os.environ.get("AWS_EXECUTION_ENV"):
        emulator = EmulatorProcess(settings)
        settings = emulator.start()
        print(f"embedded AWS emulator on {emulator.endpoint} (pid {emulator.pid})", file=sys.stderr)
        emulator.on_exit(_emulator_died)
    try:
        from exif_service.engine.exiftool import get_pool, shutdown_pool
        from exif_service.local.app import create_local_app

        pool = get_pool()
        pool.warm()
        print(f"ExifTool {pool.version} x{pool.size} ready", file=sys.stderr)
        url = f"http://{args.host}:{args.port}"
        write_state(
            settings,
            settings.aws_endpoint_url or "",
            url,
            emulator_pid=emulator.pid if emulator is not None else None,
        )
        from exif_service.local.schedules import LocalScheduler

        scheduler = LocalScheduler() if settings.run_schedules else None
        if scheduler is not None:
            scheduler.start()
        # uvicorn shuts down gracefully on SIGTERM and then re-raises it to the handler it
        # found; with the default one the process would die there and skip the stops below
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        config = server_config(
            create_local_app(),
            args.host,
            args.port,
            settings,
            log_level="info",
            timeout_graceful_shutdown=5,
        )
        try:
            uvicorn.Server(config).run()
        finally:
            if scheduler is not None:
                scheduler.stop()
            shutdown_pool()
            clear_state(settings)
    finally:
        if emulator is not None:
            emulator.stop()  # last: the app may use the store until its requests are done
    return 1 if _emulator_exit else 0


_emulator_exit: list[int] = []


def _emulator_died(returncode: int) -> None:
    """The emulator stopped under a running server: every request would fail, so stop too."""
    print(f"the embedded AWS emulator exited ({returncode}); stopping", file=sys.stderr)
    _emulator_exit.append(returncode)
    os.kill(os.getpid(), signal.SIGTERM)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(1 if _emulator_exit else 0)


@contextmanager
def _store() -> Iterator[None]:
    """Reach the data a running local server uses, or load it into a private emulator."""
    from exif_service.local.emulator import LocalAws, running_server, use_endpoint
    from exif_service.settings import get_settings
    from exif_service.store.bind import bind_models

    settings = get_settings()
    if settings.aws_endpoint_url or os.environ.get("AWS_EXECUTION_ENV"):
        bind_models(settings, force=True)
        yield
        return
    state = running_server(settings)
    if state and state.get("awsEndpoint"):
        bind_models(use_endpoint(state["awsEndpoint"]), force=True)
        yield
        return
    emulator = LocalAws(settings)
    emulator.start(save_every_s=3600)
    try:
        yield
    finally:
        emulator.stop()


def _run_job(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from exif_service.local.schedules import SCHEDULES

    job = next(s for s in SCHEDULES if s.name == args.job)
    with _store():
        result = job.run(datetime.now(UTC))
    print(json.dumps({"job": job.name, "result": result}, default=str))
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from exif_service.domain.accounts import Plan
    from exif_service.store.accounts import create_api_key, upsert_user

    with _store():
        plan = Plan(args.plan) if args.plan else None
        account = upsert_user(args.email, plan=plan, is_admin=True if args.admin else None)
        if args.password:
            from exif_service.services.accounts import set_password

            set_password(account.user_id, args.password)
        raw, _ = create_api_key(account.user_id, name="admin cli")
    print(f"user {account.email} ({account.plan.value}{', admin' if account.is_admin else ''})")
    print(raw)
    return 0


def _set_plan(args: argparse.Namespace) -> int:
    from exif_service.domain.accounts import Plan
    from exif_service.store.accounts import upsert_user

    with _store():
        account = upsert_user(args.email, plan=Plan(args.plan))
    print(f"user {account.email} is now on the {account.plan.value} plan")
    return 0


def _extract(args: argparse.Namespace) -> int:
    from exif_service.api.v1.schemas import present_metadata
    from exif_service.engine.exiftool import get_pool
    from exif_service.engine.operations import read_metadata
    from exif_service.engine.prescan import check_file

    pool = get_pool()
    results: list[dict[str, Any]] = []
    code = 0
    for path in args.files:
        if not path.is_file():
            results.append({"file": str(path), "error": "not a readable file"})
            code = 1
            continue
        try:
            check_file(path)  # metadata built to keep ExifTool busy is refused first
            report = read_metadata(pool, path.resolve(), file_name=path.name)
            results.append({"file": str(path), "metadata": present_metadata(report)})
        except ServiceError as exc:
            results.append({"file": str(path), "error": exc.message})
            code = 1
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return code


def _remove(args: argparse.Namespace) -> int:
    import shutil

    from exif_service.domain.privacy import strip_plan
    from exif_service.engine.exiftool import get_pool
    from exif_service.engine.operations import strip_metadata
    from exif_service.engine.prescan import check_file
    from exif_service.engine.workspace import safe_extension, workspace

    plan = strip_plan(args.preset, args.keep)  # a bad one is a ServiceError: exit 2
    if not args.file.is_file():
        print(json.dumps({"error": f"{args.file} is not a readable file"}), file=sys.stderr)
        return 2
    with workspace() as work:
        src = work / f"input.{safe_extension(args.file.name)}"
        shutil.copyfile(args.file, src)
        dst = work / f"clean.{safe_extension(args.file.name)}"
        try:
            check_file(src)
            stripped = strip_metadata(get_pool(), src, dst, plan)
        except ServiceError as exc:
            # a file that fails verification is never written to the output path
            print(json.dumps({"file": str(args.file), "error": exc.message}), file=sys.stderr)
            return 1
        shutil.copyfile(dst, args.output)
    result: dict[str, object] = {
        "file": str(args.file),
        "output": str(args.output),
        "type": stripped.mime_type,
        "verified": True,
    }
    if stripped.kept:
        result["kept"] = list(stripped.kept)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
