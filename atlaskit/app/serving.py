"""Under Voilà: keep a kernel alive until its page has drawn the app (``notebooks/methods/app.md``, serving)."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["KEEP_ALIVE_EVERY_S", "KEEP_ALIVE_MAX_S", "KeepAliveUntilShown"]

#: Seconds between keep-alive messages while a Voilà page has not yet drawn the app, and the
#: longest such wait, seconds.
KEEP_ALIVE_EVERY_S = 3.0
KEEP_ALIVE_MAX_S = 300.0


class KeepAliveUntilShown:
    """Mixin of an ipywidgets widget: once shown under Voilà, send a tiny message every few seconds until drawn.

    Voilà culls a kernel with no page connected and no activity; each message is activity, and the
    frontend's ``_view_count`` (set to count views by the widget) tells when the app is drawn.
    """

    _keep_alive: threading.Thread | None = None

    def _repr_mimebundle_(self, **kwargs):
        if "VOILA_BASE_URL" in os.environ:  # shown by Voilà: keep the kernel alive until the page draws it
            self.keep_alive_until_shown()
        return super()._repr_mimebundle_(**kwargs)

    def keep_alive_until_shown(self, every_s: float = KEEP_ALIVE_EVERY_S, max_s: float = KEEP_ALIVE_MAX_S) -> None:
        """Send ``{"event": "keep-alive"}`` every ``every_s`` seconds until a browser has drawn the widget (at most ``max_s`` seconds)."""
        if self._keep_alive is not None and self._keep_alive.is_alive():
            return
        started = time.monotonic()

        def beat():
            while not (self._view_count or 0) and time.monotonic() - started < max_s:
                time.sleep(every_s)
                if (self._view_count or 0) or self.comm is None:
                    break
                try:
                    self.send({"event": "keep-alive"})
                except Exception:  # noqa: BLE001 - a closing kernel: nothing to keep alive
                    break

        self._keep_alive = threading.Thread(target=beat, name="atlas-keep-alive", daemon=True)
        self._keep_alive.start()
