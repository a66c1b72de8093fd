"""Pytest plugin for browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium).

Registered by the root conftest (`pytest_plugins = ["minqing.testing.browser"]`).

- Mark browser tests with `@pytest.mark.browser` and use the `page` (desktop) or
  `phone_page` (390×844, mobile Chrome UA, zh-CN) fixture with pytest-django's
  `live_server`.
- When Chromium (or Playwright) is missing, browser tests are *deselected* at
  collection and the terminal summary says so and why, unless
  MINQING_REQUIRE_BROWSER=1 (CI), in which case they run and fail.
- `screenshot(page, name)` saves to test-artifacts/screenshots/.
- At the end of the session the status is written as JSON to
  $MINQING_BROWSER_STATUS_FILE (set by scripts/dev.py) or
  test-artifacts/browser-status.json, for scripts/dev.py to report.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

CHROMIUM_PATH = os.environ.get("MINQING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
ARTIFACTS_DIRNAME = "test-artifacts"

_state = {"deselected": 0, "passed": 0, "failed": 0, "skipped": 0}
_paths = {"artifacts": Path(ARTIFACTS_DIRNAME)}


def browser_required() -> bool:
    return os.environ.get("MINQING_REQUIRE_BROWSER") == "1"


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here (zh, en), or None when they can."""
    if not Path(CHROMIUM_PATH).exists():
        return f"未找到 {CHROMIUM_PATH}|{CHROMIUM_PATH} not found (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "未安装 Python 包 playwright|the Python package playwright is not installed"
    return None


def _is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's Chromium through Playwright")
    _paths["artifacts"] = Path(config.rootpath) / ARTIFACTS_DIRNAME


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items) -> None:
    if browser_unavailable_reason() is None or browser_required():
        return
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if browser_items:
        keep = [item for item in items if not item.get_closest_marker("browser")]
        config.hook.pytest_deselected(items=browser_items)
        items[:] = keep
        _state["deselected"] += len(browser_items)


def pytest_runtest_logreport(report) -> None:
    # Runs in the xdist controller too, where the workers' reports arrive with their keywords.
    if "browser" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = "skipped" if report.skipped else ("passed" if report.passed else "failed")
        _state[outcome] += 1


def _status(config) -> dict:
    ran = _state["passed"] + _state["failed"]
    reason = browser_unavailable_reason()
    if reason and browser_required():
        zh, en = reason.split("|")
        return {
            "ran": False,
            "message_zh": f"浏览器测试未能运行（MINQING_REQUIRE_BROWSER=1，按失败处理）：{zh}。",
            "message_en": f"Browser tests could NOT run (MINQING_REQUIRE_BROWSER=1, counted as failures): {en}.",
        }
    if ran:
        return {
            "ran": True,
            "message_zh": f"浏览器测试已运行：{ran} 个（通过 {_state['passed']}，失败 {_state['failed']}）。",
            "message_en": f"Browser tests ran: {ran} ({_state['passed']} passed, {_state['failed']} failed).",
        }
    if reason and not browser_required():
        zh, en = reason.split("|")
        return {
            "ran": False,
            "message_zh": f"浏览器测试未运行：{zh}（已取消选择，设置 MINQING_REQUIRE_BROWSER=1 可使其失败）。",
            "message_en": f"Browser tests did NOT run: {en} (deselected; MINQING_REQUIRE_BROWSER=1 makes this fail).",
        }
    return {
        "ran": False,
        "message_zh": "浏览器测试未运行：本次没有选中任何浏览器测试（-k / -m / 路径）。",
        "message_en": "Browser tests did NOT run: none were selected in this run (-k / -m / paths).",
    }


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _is_controller(config):
        return
    status = _status(config)
    terminalreporter.write_sep("-", "browser tests")
    terminalreporter.write_line(status["message_zh"])
    terminalreporter.write_line(status["message_en"])
    # scripts/dev.py names its own file, so concurrent runs in one checkout cannot mix their reports.
    status_file = Path(os.environ.get("MINQING_BROWSER_STATUS_FILE") or _paths["artifacts"] / "browser-status.json")
    with contextlib.suppress(OSError):
        status_file.parent.mkdir(parents=True, exist_ok=True)
        status_file.write_text(json.dumps(status, ensure_ascii=False))


# --- Fixtures --------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    reason = browser_unavailable_reason()
    if reason:
        # Only reached when MINQING_REQUIRE_BROWSER=1 (otherwise the tests were deselected).
        pytest.fail("浏览器测试无法运行 / browser tests cannot run: " + reason.replace("|", " / "), pytrace=False)
    # Playwright's sync API runs an event loop in this thread; Django's ORM would
    # then refuse to run from the test body ("async context"). Tests stay synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        viewport=PHONE_VIEWPORT,
        user_agent=PHONE_USER_AGENT,
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
    )
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/ and return its path."""
    folder = _paths["artifacts"] / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
