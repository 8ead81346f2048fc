"""The `floniks` command: log in, list workflows, run and wait, finalise, reproduce — on the generated client.

Exit codes (scripts rely on them):
  0 done; 1 the server refused the request (its message is printed); 2 bad command line;
  3 not logged in, or the token is refused; 4 the run ended failed or cancelled;
  5 the server could not be reached or failed (5xx); 6 gave up waiting (--timeout).
"""

from __future__ import annotations

import argparse
import getpass
import json
import mimetypes
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, cast
from uuid import UUID

import httpx
from floniks_client import AuthenticatedClient, Client
from floniks_client.api.artifacts import artifacts_create
from floniks_client.api.auth import auth_token_create, auth_token_destroy
from floniks_client.api.batches import batches_create, batches_retrieve
from floniks_client.api.provenance import provenance_verify_create
from floniks_client.api.records import records_bundle_retrieve, records_reproduce_create
from floniks_client.api.runs import runs_create, runs_finalize_create, runs_retrieve
from floniks_client.api.workflows import workflows_list, workflows_retrieve, workflows_versions_retrieve
from floniks_client.models import (
    ArtifactUploadRequest,
    AuthTokenRequest,
    Batch,
    BatchStartRequest,
    Error,
    FinalizeRequest,
    ReproduceRequest,
    Run,
    RunStartRequest,
    VerifyUploadRequest,
)
from floniks_client.types import File, Response

from floniks_cli import config

OK, REFUSED, USAGE, AUTH, RUN_FAILED, UNREACHABLE, TIMED_OUT = 0, 1, 2, 3, 4, 5, 6
# Where waiting ends: the run needs a person (annotation, a gate) or is over.
FINISHED = {"awaiting_annotation", "awaiting_gate", "finalized", "discarded", "failed", "cancelled"}
UNSUCCESSFUL = {"failed", "cancelled"}
REQUEST_TIMEOUT = 60.0


class CliError(Exception):
    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


# --- talking to the server ----------------------------------------------------------


def _client(args: argparse.Namespace) -> AuthenticatedClient:
    credentials = config.load()
    if credentials is None:
        raise CliError("Not logged in: run `floniks login URL` (or set FLONIKS_URL and FLONIKS_TOKEN).", AUTH)
    return AuthenticatedClient(
        base_url=credentials.url, token=credentials.token, timeout=httpx.Timeout(REQUEST_TIMEOUT), prefix="Token"
    )


def _call(fn: Callable[..., Response[Any]], *args: Any, **kwargs: Any) -> Any:
    """One API call; anything but a 2xx becomes a CliError carrying the server's own message."""
    try:
        response = fn(*args, **kwargs)
    except httpx.HTTPError as exc:
        raise CliError(f"Cannot reach the server: {exc}", UNREACHABLE) from exc
    status = int(response.status_code)
    if 200 <= status < 300:
        return response.parsed
    raise CliError(_message(response), AUTH if status in (401, 403) else UNREACHABLE if status >= 500 else REFUSED)


def _message(response: Response[Any]) -> str:
    parsed = response.parsed
    if isinstance(parsed, Error):
        details = [f"{item.path}: {item.message}" if item.path else item.message for item in parsed.errors]
        unique = [d for d in details if d != parsed.message]
        text = "; ".join([parsed.message, *unique]) if parsed.message else "; ".join(details)
        return f"{text} ({parsed.code}, HTTP {int(response.status_code)})"
    return f"HTTP {int(response.status_code)}: {response.content[:200].decode('utf-8', 'replace')}"


# --- output -----------------------------------------------------------------------


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(data, default=str, indent=None))
    else:
        print(text)


def _to_dict(obj: Any) -> Any:
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


# --- commands -------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/")
    username = args.username or input("Username: ")
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    anonymous = Client(base_url=url, timeout=httpx.Timeout(REQUEST_TIMEOUT))
    answer = _call(
        auth_token_create.sync_detailed,
        client=cast(AuthenticatedClient, anonymous),  # the one operation that takes no token
        body=AuthTokenRequest(username=username, password=password),
    )
    path = config.save(config.Credentials(url, answer.token))
    _emit(args, {"url": url, "username": username, "config": str(path)}, f"Logged in to {url} as {username}.")
    return OK


def cmd_logout(args: argparse.Namespace) -> int:
    if config.load() is not None:
        _call(auth_token_destroy.sync_detailed, client=_client(args))
    config.forget()
    _emit(args, {"logged_out": True}, "Logged out; the token is revoked.")
    return OK


def cmd_workflows(args: argparse.Namespace) -> int:
    client = _client(args)
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = _call(workflows_list.sync_detailed, client=client, q=args.q or None, cursor=cursor)
        rows.extend(w.to_dict() for w in page.results)
        cursor = _cursor_of(page.next_)
        if not cursor or len(rows) >= args.limit:
            break
    rows = rows[: args.limit]
    lines = [f"{r['slug']:<32} {r.get('canonical_version') or '-':<10} {r['lifecycle']:<10} {r['name']}" for r in rows]
    _emit(args, rows, "\n".join(lines) if lines else "No workflows.")
    return OK


def _cursor_of(next_url: Any) -> str | None:
    if not next_url or not isinstance(next_url, str):
        return None
    query = httpx.URL(next_url).params
    return query.get("cursor")


def _input_types(client: AuthenticatedClient, slug: str, version: str | None) -> dict[str, str]:
    if version is None:
        workflow = _call(workflows_retrieve.sync_detailed, slug, client=client)
        version = workflow.canonical_version
        if not version:
            return {}
    found = _call(workflows_versions_retrieve.sync_detailed, slug, version, client=client)
    inputs = (found.definition or {}).get("inputs") or {}
    return {name: str(spec.get("type", "string")) for name, spec in inputs.items() if isinstance(spec, dict)}


def _typed(name: str, raw: str, kind: str) -> Any:
    """`-i key=value` arrives as text; send it as the type the workflow declares."""
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            if raw.lower() in ("true", "yes", "1"):
                return True
            if raw.lower() in ("false", "no", "0"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise CliError(f"Input {name!r} takes a {kind}, not {raw!r}.", USAGE) from None
    return raw


def _pairs(values: Sequence[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"{flag} takes key=value, not {item!r}.", USAGE)
        pairs.append((key, value))
    return pairs


def _upload(client: AuthenticatedClient, path: Path) -> str:
    if not path.is_file():
        raise CliError(f"No such file: {path}", USAGE)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as f:
        artifact = _call(
            artifacts_create.sync_detailed,
            client=client,
            body=ArtifactUploadRequest(file=File(payload=f, file_name=path.name, mime_type=media)),
        )
    return str(artifact.sha256)


def cmd_run(args: argparse.Namespace) -> int:
    client = _client(args)
    types = _input_types(client, args.slug, args.version)
    inputs: dict[str, Any] = {k: _typed(k, v, types.get(k, "string")) for k, v in _pairs(args.input, "-i")}
    for key, value in _pairs(args.image, "--image"):
        inputs[key] = _upload(client, Path(value))
    body = RunStartRequest(workflow=args.slug, inputs=inputs)
    if args.version:
        body.version = args.version
    run: Run = _call(runs_create.sync_detailed, client=client, body=body)
    if not args.json:
        print(f"Run {run.id} started ({args.slug} v{run.version}).", file=sys.stderr)
    if args.wait or args.download:
        run = _wait(args, client, run.id)
    downloaded = _download(client, run, Path(args.download)) if args.download else []
    data = {**run.to_dict(), "downloaded": [str(p) for p in downloaded]}
    lines = [f"Run {run.id}: {run.status}"] + [f"  wrote {p}" for p in downloaded]
    if str(run.status) == "awaiting_gate":
        lines.append("  paused at a gate: continue it on its run page")
    _emit(args, data, "\n".join(lines))
    if str(run.status) in UNSUCCESSFUL:
        if not args.json:
            print(f"error: the run {run.status}: {run.error or 'no message'}", file=sys.stderr)
        return RUN_FAILED
    return OK


def _wait(args: argparse.Namespace, client: AuthenticatedClient, run_id: UUID) -> Run:
    """Follow a run to its end with a live bar (on stderr, so --json output stays clean)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    deadline = time.monotonic() + args.timeout
    console = Console(stderr=True, force_terminal=None)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=args.json or args.quiet) as bar:
        task = bar.add_task("queued", total=100)
        last = ""
        while True:
            run: Run = _call(runs_retrieve.sync_detailed, run_id, client=client)
            running = [s for s in run.steps if str(s.status) == "running"]
            where = ", ".join(f"{s.id} {round(s.progress * 100)}%" for s in running) or str(run.status)
            bar.update(task, completed=round(run.progress * 100), description=where)
            line = f"progress {round(run.progress * 100)}% {run.status}"
            if not (args.json or args.quiet or console.is_terminal) and line != last:
                # Not a terminal (a log, a pipe): rich draws nothing live there, so one plain line per change.
                print(line, file=sys.stderr, flush=True)
                last = line
            if str(run.status) in FINISHED:
                bar.update(task, completed=100 if str(run.status) not in UNSUCCESSFUL else bar.tasks[0].completed)
                return run
            if time.monotonic() > deadline:
                raise CliError(f"Gave up waiting after {args.timeout:g} s; the run {run_id} goes on.", TIMED_OUT)
            time.sleep(args.poll)


def _download(client: AuthenticatedClient, run: Run, into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    outputs = run.outputs.to_dict()
    http = client.get_httpx_client()
    for name, output in sorted(outputs.items()):
        url = output.get("url") if isinstance(output, dict) else None
        if not url:
            continue
        try:
            with http.stream("GET", url) as answer:
                if answer.status_code != 200:
                    raise CliError(f"Download of {name} failed: HTTP {answer.status_code}", UNREACHABLE)
                media = answer.headers.get("content-type", "").split(";")[0]
                suffix = mimetypes.guess_extension(media) or ""
                target = into / f"{_safe(name)}{suffix}"
                with target.open("wb") as f:
                    for chunk in answer.iter_bytes():
                        f.write(chunk)
        except httpx.HTTPError as exc:
            raise CliError(f"Download of {name} failed: {exc}", UNREACHABLE) from exc
        written.append(target)
    return written


def _safe(name: str) -> str:
    """An output name as a file name: never a path (a name is the workflow author's text)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".")
    return cleaned or "output"


def cmd_finalize(args: argparse.Namespace) -> int:
    client = _client(args)
    body = FinalizeRequest(label=args.label, annotation=args.annotation or "")
    if args.no_annotation:
        body.confirm_no_annotation = True
    _call(runs_finalize_create.sync_detailed, _uuid(args.run), client=client, body=body)
    run: Run = _call(runs_retrieve.sync_detailed, _uuid(args.run), client=client)
    _emit(args, run.to_dict(), f"Run {run.id} finalized as {args.label!r}.")
    return OK


def cmd_reproduce(args: argparse.Namespace) -> int:
    client = _client(args)
    body = ReproduceRequest(accept_model_drift=args.accept_model_drift)
    run: Run = _call(records_reproduce_create.sync_detailed, _uuid(args.record), client=client, body=body)
    if not args.json:
        print(f"Reproduction run {run.id} started.", file=sys.stderr)
    if args.wait:
        run = _wait(args, client, run.id)
    _emit(args, run.to_dict(), f"Reproduction {run.id}: {run.status}")
    return RUN_FAILED if str(run.status) in UNSUCCESSFUL else OK


def _sweep_value(raw: str) -> Any:
    """A swept value as typed on the command line: a number or a boolean when it reads as one (the
    server checks each against the parameter's type before anything starts)."""
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)


def cmd_batch(args: argparse.Namespace) -> int:
    client = _client(args)
    types = _input_types(client, args.slug, args.version)
    inputs: dict[str, Any] = {k: _typed(k, v, types.get(k, "string")) for k, v in _pairs(args.input, "-i")}
    for key, value in _pairs(args.image, "--image"):
        inputs[key] = _upload(client, Path(value))
    body = BatchStartRequest(workflow=args.slug, inputs=inputs)
    if args.version:
        body.version = args.version
    if args.count is not None:
        body.count = args.count
    if args.sweep:
        body.sweep = {
            key: [_sweep_value(v) for v in values.split(",")] for key, values in _pairs(args.sweep, "--sweep")
        }
    batch: Batch = _call(batches_create.sync_detailed, client=client, body=body)
    if not args.json:
        print(f"Batch {batch.id}: {len(batch.runs)} runs of {args.slug} v{batch.version}.", file=sys.stderr)
    if args.wait:
        batch = _wait_batch(args, client, batch)
    lines = [f"Batch {batch.id}"] + [
        f"  {r.id}  {r.status}  seeds {r.seeds.to_dict()}" + (f"  swept {r.swept}" if r.swept else "")
        for r in batch.runs
    ]
    _emit(args, batch.to_dict(), "\n".join(lines))
    return RUN_FAILED if any(str(r.status) in UNSUCCESSFUL for r in batch.runs) else OK


def _wait_batch(args: argparse.Namespace, client: AuthenticatedClient, batch: Batch) -> Batch:
    deadline = time.monotonic() + args.timeout
    last = ""
    while True:
        batch = _call(batches_retrieve.sync_detailed, batch.id, client=client)
        done = sum(str(r.status) in FINISHED for r in batch.runs)
        line = f"progress {done}/{len(batch.runs)} runs done"
        if not (args.json or args.quiet) and line != last:
            print(line, file=sys.stderr, flush=True)
            last = line
        if done == len(batch.runs):
            return batch
        if time.monotonic() > deadline:
            raise CliError(f"Gave up waiting after {args.timeout:g} s; the batch {batch.id} goes on.", TIMED_OUT)
        time.sleep(args.poll)


def cmd_bundle(args: argparse.Namespace) -> int:
    client = _client(args)
    answer = records_bundle_retrieve.sync_detailed(_uuid(args.record), client=client)
    if int(answer.status_code) != 200:
        raise CliError(_message(answer), AUTH if int(answer.status_code) in (401, 403) else REFUSED)
    target = Path(args.output)
    target.write_bytes(answer.content)
    _emit(args, {"record": args.record, "file": str(target), "bytes": len(answer.content)}, f"Wrote {target}.")
    return OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Anyone may verify a file: without a login, against FLONIKS_URL or --url."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"No such file: {path}", USAGE)
    credentials = config.load()
    url = (args.url or (credentials.url if credentials else "")).rstrip("/")
    if not url:
        raise CliError("Which server? Log in, or give --url.", USAGE)
    client: AuthenticatedClient | Client
    if credentials and not args.url:
        client = _client(args)
    else:
        client = Client(base_url=url, timeout=httpx.Timeout(REQUEST_TIMEOUT))
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as f:
        upload = VerifyUploadRequest(file=File(payload=f, file_name=path.name, mime_type=media))
        found = _call(provenance_verify_create.sync_detailed, client=cast(AuthenticatedClient, client), body=upload)
    record = found.record.to_dict() if found.record else None
    text = f"{path.name}: {found.state}" + (f", signed by {found.signer}" if found.signer else "")
    if record:
        text += (
            f"\n  record {record.get('id')} {record.get('label')} ({record.get('workflow')} v{record.get('version')})"
        )
    _emit(args, {**found.to_dict(), "file": str(path)}, text)
    return OK if str(found.state) in ("trusted", "valid") else REFUSED


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CliError(f"Not an id: {text!r}", USAGE) from None


# --- the command line -------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    top = argparse.ArgumentParser(prog="floniks", description="Script Floniks: runs, records, reproductions.")
    sub = top.add_subparsers(dest="command", required=True)

    login = sub.add_parser("login", parents=[common], help="get a token and keep it in your config directory")
    login.add_argument("url", help="the server, e.g. https://floniks.example.com")
    login.add_argument("--username", "-u")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.set_defaults(handler=cmd_login)

    logout = sub.add_parser("logout", parents=[common], help="revoke the token and forget it")
    logout.set_defaults(handler=cmd_logout)

    workflows = sub.add_parser("workflows", parents=[common], help="list workflows")
    workflows.add_argument("-q", help="search name, slug and description")
    workflows.add_argument("--limit", type=int, default=200)
    workflows.set_defaults(handler=cmd_workflows)

    run = sub.add_parser("run", parents=[common], help="start a run of a workflow")
    run.add_argument("slug")
    run.add_argument("--version", help="a published version (default: the canonical one)")
    run.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--image", action="append", default=[], metavar="KEY=PATH", help="upload a reference image")
    _waiting(run)
    run.add_argument("--download", metavar="DIR", help="wait, then write the outputs into DIR")
    run.set_defaults(handler=cmd_run)

    finalize = sub.add_parser("finalize", parents=[common], help="finalise a run into a version record")
    finalize.add_argument("run")
    finalize.add_argument("--label", required=True)
    finalize.add_argument("--annotation", help="what this output is for and why it was kept")
    finalize.add_argument("--no-annotation", action="store_true", help="confirm saving without an annotation")
    finalize.set_defaults(handler=cmd_finalize)

    reproduce = sub.add_parser("reproduce", parents=[common], help="reproduce a version record and verify it")
    reproduce.add_argument("record")
    reproduce.add_argument("--accept-model-drift", action="store_true")
    _waiting(reproduce)
    reproduce.set_defaults(handler=cmd_reproduce)

    batch = sub.add_parser("batch", parents=[common], help="explore: many runs with fresh seeds, or a sweep")
    batch.add_argument("slug")
    batch.add_argument("--version", help="a published version (default: the canonical one)")
    batch.add_argument("-i", "--input", action="append", default=[], metavar="KEY=VALUE")
    batch.add_argument("--image", action="append", default=[], metavar="KEY=PATH", help="upload a reference image")
    batch.add_argument("--count", type=int, help="runs with fresh seeds (with --sweep: seed sets per combination)")
    batch.add_argument(
        "--sweep", action="append", default=[], metavar="STEP.PARAM=V1,V2", help="sweep a parameter (up to two)"
    )
    _waiting(batch)
    batch.set_defaults(handler=cmd_batch)

    bundle = sub.add_parser("bundle", parents=[common], help="export a version record as a portable bundle (zip)")
    bundle.add_argument("record")
    bundle.add_argument("-o", "--output", required=True, metavar="FILE")
    bundle.set_defaults(handler=cmd_bundle)

    verify = sub.add_parser("verify", parents=[common], help="check a file's signed provenance (C2PA)")
    verify.add_argument("file")
    verify.add_argument("--url", help="the server, when not logged in")
    verify.set_defaults(handler=cmd_verify)
    return top


def _waiting(command: argparse.ArgumentParser) -> None:
    command.add_argument("--wait", action="store_true", help="follow it to the end with a progress bar")
    command.add_argument("--timeout", type=float, default=3600, help="seconds to wait at most (default 3600)")
    command.add_argument("--poll", type=float, default=0.5, help=argparse.SUPPRESS)
    command.add_argument("--quiet", action="store_true", help="no progress output")


def fail(message: str, code: int) -> NoReturn:
    print(f"floniks: error: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CliError as exc:
        fail(str(exc), exc.code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
