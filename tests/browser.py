"""A real browser for the tests: headless Chromium driven over the Chrome DevTools Protocol on a pair
of pipes (``--remote-debugging-pipe``), standard library only — no driver package, no debugging
port, nothing listening on the network.

``Browser.open(path)`` loads a local page in a fresh tab and returns a :class:`PageVisit` holding
every request the page made (anything but ``file:`` and ``data:`` is failed before it leaves,
and Chromium cannot resolve host names at all), console errors, uncaught exceptions and JavaScript
dialogs (dismissed); the visit can evaluate JavaScript, print to PDF and take a screenshot.

Chromium is Debian's (``apt-get install chromium``); ``find_chromium()`` returns None when there is
none, and the browser tests skip with that reason.
"""
from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--no-default-browser-check", "--mute-audio",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--disable-features=Translate,MediaRouter,OptimizationHints",
    # Belt and braces: no host name resolves, so nothing could leave even if a request slipped through.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def _above_nine(fd: int) -> int:
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name) if not os.path.isabs(name) else (name if os.access(name, os.X_OK) else None)
        if path:
            return path
    return None


class BrowserError(RuntimeError):
    pass


@dataclass
class PageVisit:
    """What happened while one page loaded (and afterwards, until the visit is closed)."""

    browser: "Browser"
    session: str
    url: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def external_requests(self) -> list[str]:
        """Every URL the page asked for that is not local, each once, in order."""
        return list(dict.fromkeys(u for u in self.requests + self.blocked if not u.startswith(LOCAL_SCHEMES)))

    def evaluate(self, expression: str) -> Any:
        reply = self.browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                  session=self.session)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} raised {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def pdf(self) -> bytes:
        reply = self.browser.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                                  session=self.session, timeout=120)
        return base64.b64decode(reply["data"])

    def screenshot(self, path: Path, *, width: int = 1200, max_height: int = 2400) -> Path:
        self.browser.call("Page.bringToFront", session=self.session)  # a background tab draws no frames
        height = int(min(max_height, self.evaluate("document.documentElement.scrollHeight")))
        self.browser.call("Emulation.setDeviceMetricsOverride",
                          {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                          session=self.session)
        reply = self.browser.call("Page.captureScreenshot", {"format": "png"}, session=self.session, timeout=120)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(reply["data"]))
        return path

    def screenshot_element(self, expression: str, path: Path, *, margin: int = 16, max_height: int = 2400) -> Path:
        """A PNG of (the top ``max_height`` pixels of) the element ``expression`` evaluates to."""
        self.browser.call("Page.bringToFront", session=self.session)
        box = _element_box(self, expression)
        clip = {"x": max(0, box["x"] - margin), "y": max(0, box["y"] - margin),
                "width": box["width"] + 2 * margin, "height": min(max_height, box["height"] + 2 * margin), "scale": 1}
        reply = self.browser.call("Page.captureScreenshot", {"format": "png", "clip": clip,
                                                             "captureBeyondViewport": True},
                                  session=self.session, timeout=120)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(reply["data"]))
        return path


def _element_box(visit: "PageVisit", expression: str) -> dict:
    box = visit.evaluate(f"(() => {{ const e = {expression}; if (!e) return null; const r = e.getBoundingClientRect(); "
                         "return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })()")
    if not box:
        raise BrowserError(f"no element for {expression}")
    return box


class Browser:
    """One headless Chromium process; ``open`` a page per tab. Use as a context manager."""

    def __init__(self, binary: str | None = None, *, width: int = 1200, height: int = 900):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("no Chromium found")
        self.profile = Path(tempfile.mkdtemp(prefix="upstream-chromium-"))
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's ends move above 9 first, so that the shell's redirections to fds 3 and 4 below
        # can never close or overwrite one another.
        to_browser_r, from_browser_w = (_above_nine(to_browser_r), _above_nine(from_browser_w))
        # Chromium reads commands on fd 3 and writes replies on fd 4 (--remote-debugging-pipe); a tiny
        # exec wrapper puts the pipe ends there (dash cannot redirect fds above 9).
        wrapper = (f"import os, sys; os.dup2({to_browser_r}, 3); os.dup2({from_browser_w}, 4); "
                   f"os.close({to_browser_r}); os.close({from_browser_w}); os.execv(sys.argv[1], sys.argv[1:])")
        self.log = open(self.profile / "chromium.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-S", "-c", wrapper, self.binary, *FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={self.profile / 'profile'}", f"--window-size={width},{height}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue] = {}
        self._visits: dict[str, PageVisit] = {}
        self._loaded: dict[str, threading.Event] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.version = self.call("Browser.getVersion", timeout=60)["product"]

    # -- protocol
    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                for waiting in list(self._replies.values()):
                    waiting.put({"error": {"message": "Chromium closed the pipe"}})
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict) -> None:
        if "id" in message:
            waiting = self._replies.pop(message["id"], None)
            if waiting is not None:
                waiting.put(message)
            return
        visit = self._visits.get(message.get("sessionId", ""))
        if visit is None:
            return
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Fetch.requestPaused":
            url = params["request"]["url"]
            if url.startswith(LOCAL_SCHEMES):
                self.send("Fetch.continueRequest", {"requestId": params["requestId"]}, session=visit.session)
            else:
                visit.blocked.append(url)
                self.send("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
                          session=visit.session)
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            visit.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            visit.console_errors.append(f"{params['entry'].get('source')}: {params['entry'].get('text')} "
                                        f"{params['entry'].get('url', '')}".strip())
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            visit.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Page.javascriptDialogOpening":
            visit.dialogs.append(f"{params.get('type')}: {params.get('message')}")
            self.send("Page.handleJavaScriptDialog", {"accept": False}, session=visit.session)
        elif method == "Page.loadEventFired":
            event = self._loaded.get(visit.session)
            if event is not None:
                event.set()

    def send(self, method: str, params: dict | None = None, *, session: str | None = None) -> queue.Queue:
        with self._lock:
            self._next_id += 1
            message = {"id": self._next_id, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            waiting: queue.Queue = queue.Queue()
            self._replies[self._next_id] = waiting
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return waiting

    def call(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 30) -> dict:
        try:
            reply = self.send(method, params, session=session).get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no reply from Chromium in {timeout} s") from None
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    # -- pages
    def open(self, path: Path, *, settle: float = 0.5, timeout: float = 60) -> PageVisit:
        """Load ``path`` in a new tab and wait for its load event (plus ``settle`` seconds)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        url = Path(path).resolve().as_uri()
        visit = PageVisit(self, session, url)
        self._visits[session] = visit
        for method, params in [("Page.enable", {}), ("Runtime.enable", {}), ("Log.enable", {}),
                               ("Network.enable", {}), ("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})]:
            self.call(method, params, session=session)
        loaded = self._loaded[session] = threading.Event()
        reply = self.call("Page.navigate", {"url": url}, session=session)
        if reply.get("errorText"):
            raise BrowserError(f"cannot open {url}: {reply['errorText']}")
        if not loaded.wait(timeout):
            raise BrowserError(f"{url} did not finish loading in {timeout} s")
        time.sleep(settle)
        visit.target = target
        return visit

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except BrowserError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
