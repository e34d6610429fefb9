"""Drive headless Chromium through the DevTools Protocol over `--remote-debugging-pipe`.

No driver binary and no websocket library: Chromium reads commands from its fd 3 and
writes answers and events to its fd 4, each a JSON message ended by a NUL byte. Waits
poll a condition inside the page with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Headless, and nothing fetched from outside: shared with the screenshot test.
HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FLAGS = [*HEADLESS_FLAGS, "--remote-debugging-pipe"]
# The page's own poll of a condition: resolves with its value, or rejects at the deadline.
WAIT_JS = """new Promise((resolve, reject) => {
  const deadline = Date.now() + %d;
  const poll = () => {
    let value;
    try { value = (%s); } catch (error) { value = undefined; }
    if (value) return resolve(value);
    if (Date.now() > deadline) return reject(new Error("timed out waiting for: " + %s));
    setTimeout(poll, 50);
  };
  poll();
})"""


class CdpError(RuntimeError):
    """Chromium answered a command with an error, or a page script threw."""


class Page:
    """One tab, attached with a flat session; commands wait for their own answer."""

    def __init__(self, process: subprocess.Popen[bytes], to_chrome: int, from_chrome: int):
        self.process = process
        self.to_chrome = to_chrome
        self.from_chrome = from_chrome
        self.buffer = b""
        self.next_id = 0
        self.session: str | None = None

    def send(self, method: str, timeout: float = 15, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self.read(deadline, method)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise CdpError(f"{method}: {answer['error']}")
                return answer.get("result", {})  # type: ignore[no-any-return]

    def read(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.from_chrome], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"no answer from Chromium to {waiting_for}")
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise CdpError(f"Chromium closed its pipe (exit code {self.process.poll()})")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def evaluate(self, expression: str, timeout: float = 15) -> Any:
        result = self.send(
            "Runtime.evaluate",
            timeout=timeout + 5,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CdpError(f"{text}\nin: {expression[:300]}")
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 10) -> Any:
        """Wait until the JavaScript expression `condition` is truthy in the page; its value."""
        js = WAIT_JS % (int(timeout * 1000), condition, json.dumps(condition))
        return self.evaluate(js, timeout=timeout)

    def wait_for_selector(self, selector: str, timeout: float = 10) -> None:
        self.wait_for(f"!!document.querySelector({json.dumps(selector)})", timeout)

    def exists(self, selector: str) -> bool:
        return bool(self.evaluate(f"!!document.querySelector({json.dumps(selector)})"))

    def text(self, selector: str, timeout: float = 10) -> str:
        """The element's shown text, once it has some."""
        element = f"document.querySelector({json.dumps(selector)})"
        self.wait_for(f"{element}?.innerText.trim()", timeout)
        return str(self.evaluate(f"{element}.innerText"))

    def click(self, selector: str, timeout: float = 10) -> None:
        """Wait for the element, scroll it into view and click it."""
        self.wait_for_selector(selector, timeout)
        self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); e.click(); return true; })()"
        )

    def type(self, selector: str, text: str, timeout: float = 10) -> None:
        """Replace the field's text by typing, as a keyboard does, then leave the field.

        React sees `input` events; leaving (blur) flushes a debounced input at once.
        """
        self.wait_for_selector(selector, timeout)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
        self.send("Input.insertText", text=text)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).blur()")

    def choose(self, selector: str, values: list[str], timeout: float = 10) -> None:
        """Select these options of a `<select>` (only these), as a user's pick does."""
        self.wait_for_selector(selector, timeout)
        self.evaluate(
            f"(() => {{ const s = document.querySelector({json.dumps(selector)});"
            f" const wanted = {json.dumps(values)};"
            " for (const o of s.options) o.selected = wanted.includes(o.value);"
            " s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
        )

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def screenshot(self, path: Path) -> None:
        shot = self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


@contextmanager
def chromium_page(
    chromium: Path, profile: Path, width: int = 1280, height: int = 2000
) -> Iterator[Page]:
    """A blank tab of a fresh headless Chromium; the browser is ended on leaving."""
    to_read, to_chrome = os.pipe()
    from_chrome, from_write = os.pipe()
    # Chromium's ends, moved to 10 and up so that neither is at 3 or 4 before bash moves
    # them there (`3<&10 4>&11`); then bash execs Chromium. Popen's `pass_fds` keeps them
    # open in the child; a `preexec_fn` would do the same but is unsafe beside threads.
    read_end, write_end = (
        fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_read, from_write)
    )
    os.close(to_read)
    os.close(from_write)
    command = [
        "/bin/bash",
        "-c",
        f'exec "$0" "$@" 3<&{read_end} 4>&{write_end} {read_end}<&- {write_end}>&-',
        str(chromium),
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ]
    process = subprocess.Popen(
        command,
        pass_fds=(read_end, write_end),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None if os.environ.get("CDP_DEBUG") else subprocess.DEVNULL,
    )
    os.close(read_end)
    os.close(write_end)
    page = Page(process, to_chrome, from_chrome)
    try:
        target = page.send("Target.createTarget", url="about:blank")
        attached = page.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        page.session = attached["sessionId"]
        page.send("Page.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        yield page
    finally:
        os.close(to_chrome)  # Chromium exits when its command pipe closes.
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        os.close(from_chrome)
