"""Keep an index in sync with its documents folder while the chat (or ``rag index --watch``) runs.

A sync of an unchanged folder only compares each file's size and time with the index's records (a few ms for
hundreds of files), so polling is cheap and needs no file-system events, which differ across systems and miss
network drives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.pipeline import IndexReport, Pipeline

logger = logging.getLogger(__name__)


class FolderWatcher:
    """Syncs ``pipeline``'s index with its documents folder every ``interval`` seconds, on a daemon thread.

    ``lock`` is held around each sync (the web chat passes the one its uploads and removals hold, so a file it
    saves is reported by the upload that saved it); ``on_change`` is called with each report that changed
    something. A failed sync is logged and tried again at the next tick: the previous index keeps answering.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        interval: float,
        lock: AbstractContextManager[object] | None = None,
        on_change: Callable[[IndexReport], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be greater than 0. Currently, it is {interval}")
        self.pipeline = pipeline
        self.interval = interval
        self.lock = lock or nullcontext()
        self.on_change = on_change
        self.changes = 0
        """How many syncs changed the index since the watcher started."""
        self.failing: str | None = None
        """Why the syncs fail, while they do (said once, and once more when they work again)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync(self) -> IndexReport | None:
        """One sync now; its report, or None when it failed (logged)."""
        try:
            with self.lock:
                report = self.pipeline.index()
        except RagError as error:
            if str(error) != self.failing:  # every few seconds for as long as a drive is away: once is enough
                logger.warning("sync with the documents folder failed (the index is unchanged): %s", error)
                self.failing = str(error)
            return None
        if self.failing is not None:
            logger.warning("sync with the documents folder works again")
            self.failing = None
        if report.changed:
            self.changes += 1
            if self.on_change:
                self.on_change(report)
        return report

    def run(self) -> None:
        """Sync every ``interval`` seconds until :meth:`stop` (blocks; :meth:`start` runs it on a thread)."""
        while not self._stop.wait(self.interval):
            self.sync()

    def start(self) -> FolderWatcher:
        self._thread = threading.Thread(target=self.run, name="rag-folder-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 60)
