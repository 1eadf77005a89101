"""The desktop app's entry: a themed, HiDPI-aware QApplication running on a qasync event loop.

```
run_gui()                                   an empty project
run_gui("storyboard.shotline")              open a project (an autosave newer than it is offered)
run_gui(screenshot="shot.png")              the example at 1600×900: render it, save a PNG, exit 0
```
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from app.document import find_gaps

ICON = Path(__file__).resolve().parents[1] / "resources" / "icons" / "shotline.png"
SCREENSHOT_SIZE = (1600, 900)
SCREENSHOT_TIMEOUT_S = float(os.environ.get("SHOTLINE_SCREENSHOT_TIMEOUT", "420"))


def run_gui(
    project_path: str | os.PathLike[str] | None = None, screenshot: str | os.PathLike[str] | None = None
) -> int:
    """Open the main window and run until it closes; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Shotline")
    app.setOrganizationName("Shotline")
    app.setApplicationDisplayName("Shotline")
    app.setDesktopFileName("shotline")  # packaging/shotline.desktop
    app.setWindowIcon(QIcon(str(ICON)))

    import qasync

    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme
    from engine.device import configure_threads

    apply_theme(app)
    configure_threads(leave_for_ui=True)
    window = MainWindow()
    status = 0

    async def main() -> None:
        nonlocal status
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        if screenshot is not None:
            status = await take_screenshot(window, Path(screenshot))
            window.shutdown()
            window.close()
            return
        window.show()
        if project_path is not None:
            window.open_path(project_path)
        await closed.wait()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(main())
    finally:
        window.shutdown()
    return status


async def take_screenshot(window, path: Path, timeout_s: float = SCREENSHOT_TIMEOUT_S) -> int:  # type: ignore[no-untyped-def]
    """Open a copy of the example in the real window, render its shots (bounded), grab the window to a PNG."""
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    await asyncio.sleep(0.3)  # let the window take its size and lay out its docks
    if not window.open_example():
        return 2
    service, timeline, frames = window.service, window.timeline, window.frames
    deadline = time.monotonic() + timeout_s
    service.generate_all()
    while service.is_busy() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    # Then fill the gap, so the picture shows a render in progress: live preview, progress bar, ETA.
    document = window.document
    gap = next((g for t in document.project.tracks for g in find_gaps(t) if g.can_bridge), None)
    if gap is not None:
        bridge_id = window._intent(lambda: service.fill_gap(gap.track_id, gap.range.start, gap.range.end))
        while time.monotonic() < deadline:
            entries = service.entries()
            if not entries or (entries[0].total and entries[0].step * 2 >= entries[0].total):
                break
            await asyncio.sleep(0.05)
        if bridge_id:
            timeline.select_item(bridge_id)
            shot = document.project.shot(bridge_id)
            timeline.set_playhead(shot.start + shot.duration // 2)
    # Thumbnails and the viewer's picture decode on workers: wait until nothing is pending (bounded).
    settle = time.monotonic() + 20
    while time.monotonic() < settle:
        await asyncio.sleep(0.2)
        if not frames._pending:
            await asyncio.sleep(0.3)
            if not frames._pending:
                break
    window.fit_timeline()
    await asyncio.sleep(0.2)
    window.repaint()
    await asyncio.sleep(0.1)
    image = window.grab().toImage()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG"):
        print(f"shotline: could not write the screenshot {path}", file=sys.stderr)
        return 2
    print(path)
    return 0
