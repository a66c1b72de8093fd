#!/usr/bin/env python3
"""Minqing's two commands: `python3 scripts/dev.py start` and `python3 scripts/dev.py test`.

Standard library only, so a bare Python 3.11 can run it on a fresh clone.

Both commands create `.venv` when it is missing and install the project into it
(`pip install -c requirements.lock -e ".[dev]"`). The install is skipped while
pyproject.toml and requirements.lock are unchanged since the last one (a stamp
file inside .venv records their hash).

start  migrate, load the Yiyang org tree, seed the work calendar, create the demo
       accounts (and a demo year of cases when that command exists), collect
       static files, print the demo accounts, then run the web server, the task
       worker and the scheduler together until Ctrl-C. Safe to run again.
test   pytest, with any extra arguments passed through; two xdist workers by
       default. Says at the end whether the browser tests ran, and why not.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".minqing-install-stamp"
INSTALL_INPUTS = ("pyproject.toml", "requirements.lock")
STOP_GRACE_SECONDS = 15


def say(message: str) -> None:
    print(f"[minqing] {message}", flush=True)


def fail(message: str, code: int = 1) -> None:
    print(f"[minqing] 错误 / error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


# --- Environment ---------------------------------------------------------------


def _inputs_hash() -> str:
    digest = hashlib.sha256()
    for name in INSTALL_INPUTS:
        path = ROOT / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv if needed and install the project unless nothing changed since the last install."""
    if sys.version_info[:2] != (3, 11):
        say(f"warning: Minqing targets Python 3.11; this is {sys.version.split()[0]}")
    python = BIN / "python"
    if not python.exists():
        say(f"creating virtual environment in {VENV}")
        try:
            venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
        except (OSError, subprocess.CalledProcessError) as error:
            fail(f"could not create {VENV} ({error}); on Debian/Ubuntu install python3-venv first")
    wanted = _inputs_hash()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say('installing Minqing and its pinned dependencies (pip install -c requirements.lock -e ".[dev]")')
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    constraints = ["-c", "requirements.lock"] if (ROOT / "requirements.lock").exists() else []
    run([str(python), "-m", "pip", "install", "--quiet", *constraints, "-e", ".[dev]"], check=True)
    STAMP.write_text(wanted + "\n")


def run(argv: list[str], *, check: bool = True, env: dict[str, str] | None = None) -> int:
    completed = subprocess.run(argv, cwd=ROOT, env=env)
    if check and completed.returncode != 0:
        fail(f"command failed with exit code {completed.returncode}: {' '.join(argv)}", completed.returncode)
    return completed.returncode


def minqing(*args: str) -> None:
    say("minqing " + " ".join(args))
    run([str(BIN / "minqing"), *args])


def available_commands() -> set[str]:
    output = subprocess.run(
        [str(BIN / "minqing"), "help", "--commands"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if output.returncode != 0:
        sys.stderr.write(output.stderr)
        fail("`minqing help --commands` failed; the project does not start (see the error above)")
    return {line.strip() for line in output.stdout.splitlines() if line.strip()}


# --- start ---------------------------------------------------------------------


def prepare_data() -> None:
    commands = available_commands()
    required = {"orgs_load": "orgs load yiyang", "calendar_seed": "calendar seed", "demo_accounts": "demo accounts"}
    missing = [spoken for name, spoken in required.items() if name not in commands]
    if missing:
        fail("these commands are missing from this checkout: " + ", ".join(f"minqing {m}" for m in missing))
    minqing("migrate", "--noinput")
    minqing("orgs", "load", "yiyang")
    minqing("calendar", "seed")
    minqing("demo", "accounts", "--verbosity", "0")  # before the demo year, whose cases may need the accounts
    if "demo_year" in commands:
        minqing("demo", "year")
    # Catch the statistics up with the demo year now, before the worker and the web server
    # start competing with it for SQLite's single writer.
    if "stats_update" in commands:
        minqing("stats_update")
    minqing("collectstatic", "--noinput", "--verbosity", "0")
    # Again (it changes nothing now) so the table of accounts is the last thing printed before the servers start.
    minqing("demo", "accounts")


def _spawn(name: str, argv: list[str]) -> subprocess.Popen:
    say(f"starting {name}: {' '.join(argv)}")
    # Own process group: Ctrl-C reaches us only, and we stop the children in order.
    return subprocess.Popen(argv, cwd=ROOT, start_new_session=True)


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {STOP_GRACE_SECONDS}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class _Stop(Exception):
    pass


def _raise_stop(signum, frame) -> None:
    raise _Stop(signal.Signals(signum).name)


def serve(bind: str, workers: int, threads: int) -> int:
    children: dict[str, subprocess.Popen] = {}
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    exit_code = 0
    try:
        children["web"] = _spawn(
            "web server",
            [
                str(BIN / "gunicorn"),
                "minqing.wsgi",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--access-logfile",
                "-",
            ],
        )
        children["worker"] = _spawn(
            "task worker", [str(BIN / "minqing"), "db_worker", "--queue-name", "*", "--no-reload"]
        )
        children["scheduler"] = _spawn("scheduler", [str(BIN / "minqing"), "scheduler", "--loop"])
        say(f"Minqing is running at http://{bind}/  (Ctrl-C stops the web server, worker and scheduler)")
        while True:
            for name, proc in children.items():
                code = proc.poll()
                if code is not None:
                    say(f"{name} exited with code {code}; stopping the others")
                    exit_code = code or 1
                    raise _Stop(name)
            time.sleep(0.5)
    except _Stop as reason:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if not exit_code:
            say(f"received {reason}; stopping")
    finally:
        _stop(children)
    say("stopped")
    return exit_code


def cmd_start(args: argparse.Namespace) -> int:
    ensure_venv()
    prepare_data()
    return serve(args.bind, args.workers, args.threads)


# --- test ----------------------------------------------------------------------


def _browser_only(pytest_args: list[str]) -> bool:
    for index, arg in enumerate(pytest_args):
        if arg == "-m" and index + 1 < len(pytest_args) and pytest_args[index + 1].strip() == "browser":
            return True
        if arg.replace(" ", "") == "-mbrowser":
            return True
    paths = [arg for arg in pytest_args if not arg.startswith("-")]
    return bool(paths) and all(Path(p.split("::")[0]).as_posix().startswith("tests/browser") for p in paths)


def _wants_own_parallelism(pytest_args: list[str]) -> bool:
    """True when the caller chose -n / --dist themselves or turned xdist off (-p no:xdist)."""
    joined = " ".join(pytest_args).replace("-p no:", "-pno:")
    return "-pno:xdist" in joined or any(arg.startswith(("-n", "--numprocesses", "--dist")) for arg in pytest_args)


def _browser_report(status_file: Path) -> str:
    try:
        status = json.loads(status_file.read_text())
    except (OSError, ValueError):
        return (
            "浏览器测试情况未知：pytest 没有报告（可能在收集测试前就失败了）。\n"
            "Browser tests: unknown, pytest reported nothing (it may have failed before collecting tests)."
        )
    return f"{status['message_zh']}\n{status['message_en']}"


def cmd_test(args: argparse.Namespace) -> int:
    ensure_venv()
    pytest_args = list(args.pytest_args)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    argv = [str(BIN / "pytest")]
    if not _browser_only(pytest_args) and not _wants_own_parallelism(pytest_args):
        argv += ["-n", "2"]
    argv += pytest_args
    say(" ".join(argv))
    # The root conftest loads minqing.testing.browser, which writes its status to this file.
    with tempfile.TemporaryDirectory(prefix="minqing-test-") as scratch:
        status_file = Path(scratch) / "browser-status.json"
        env = {**os.environ, "MINQING_BROWSER_STATUS_FILE": str(status_file)}
        code = subprocess.run(argv, cwd=ROOT, env=env).returncode
        print()
        print(_browser_report(status_file))
    if code == 5:
        print("pytest 没有运行任何测试（退出码 5），按失败处理。")
        print("pytest ran no tests (exit code 5): treated as a failure.")
        return 1
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/dev.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="prepare the demo data and run web server, worker and scheduler")
    start.add_argument("--bind", default=os.environ.get("MINQING_BIND", "127.0.0.1:8000"))
    start.add_argument("--workers", type=int, default=2)
    start.add_argument("--threads", type=int, default=4)
    start.set_defaults(func=cmd_start)
    setup = sub.add_parser("setup", help="only create/update .venv (start and test do this themselves)")
    setup.set_defaults(func=lambda args: ensure_venv() or 0)
    test = sub.add_parser("test", help="run the test suite; extra arguments go to pytest")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=cmd_test)
    # `dev.py test -k foo`: argparse would take -k as its own option; hand everything after `test` to pytest.
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["test"]:
        args = argparse.Namespace(command="test", pytest_args=raw[1:], func=cmd_test)
    else:
        args = parser.parse_args(raw)
    return args.func(args)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
