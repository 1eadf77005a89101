"""The dark theme: a Fusion palette and a stylesheet in the greys of the editors filmmakers know, one accent.

Sizes are in points (not pixels) so text stays readable at 1080p and scales on HiDPI screens; Qt 6 scales
the rest by the screen's device pixel ratio.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#e0892b"  # a warm orange, like a record/render light
WINDOW = "#232325"
BASE = "#1a1a1c"
PANEL = "#2b2b2e"
RAISED = "#3a3a3e"
BORDER = "#111113"
TEXT = "#d7d7da"
DIM = "#8c8c92"
WARNING = "#e8c547"
ERROR = "#e5534b"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QWidget {{ color: {TEXT}; }}
QToolTip {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px; }}
QMenuBar {{ background: {WINDOW}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item {{ padding: 4px 10px; background: transparent; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: #151515; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; padding: 4px 0; }}
QMenu::item {{ padding: 5px 26px 5px 22px; }}
QMenu::item:disabled {{ color: {DIM}; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}
QDockWidget {{ titlebar-close-icon: none; font-weight: 600; }}
QDockWidget::title {{ background: {PANEL}; padding: 5px 8px; border-bottom: 1px solid {BORDER}; }}
QStatusBar {{ background: {WINDOW}; color: {DIM}; border-top: 1px solid {BORDER}; }}
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    background: {BASE}; border: 1px solid {BORDER}; border-radius: 3px; padding: 3px 5px;
    selection-background-color: {ACCENT}; selection-color: #151515;
}}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{
    border: 1px solid {ACCENT};
}}
QLineEdit:disabled, QPlainTextEdit:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled,
QComboBox:disabled {{ color: {DIM}; }}
QComboBox QAbstractItemView {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QPushButton, QToolButton {{
    background: {RAISED}; border: 1px solid {BORDER}; border-radius: 3px; padding: 4px 10px;
}}
QPushButton:hover, QToolButton:hover {{ background: #47474c; }}
QPushButton:pressed, QToolButton:pressed {{ background: #2f2f33; }}
QPushButton:disabled, QToolButton:disabled {{ color: {DIM}; background: {PANEL}; }}
QPushButton[accent="true"] {{ background: {ACCENT}; color: #151515; font-weight: 600; }}
QPushButton[accent="true"]:hover {{ background: #eda04d; }}
QPushButton[accent="true"]:disabled {{ background: #6b4a2a; color: #2a2a2a; }}
QToolButton:checked {{ background: {ACCENT}; color: #151515; }}
QListWidget, QListView, QTreeView, QUndoView {{
    background: {BASE}; border: 1px solid {BORDER}; alternate-background-color: #1f1f22;
}}
QListWidget::item, QListView::item {{ padding: 4px; }}
QListWidget::item:selected, QListView::item:selected {{ background: #4a3520; color: {TEXT}; }}
QProgressBar {{
    background: {BASE}; border: 1px solid {BORDER}; border-radius: 3px; text-align: center; min-height: 14px;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}
QScrollBar:horizontal, QScrollBar:vertical {{ background: {BASE}; border: none; }}
QScrollBar:horizontal {{ height: 12px; }}
QScrollBar:vertical {{ width: 12px; }}
QScrollBar::handle {{
    background: {RAISED}; border-radius: 4px; min-width: 24px; min-height: 24px; margin: 2px;
}}
QScrollBar::handle:hover {{ background: #55555b; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QSplitter::handle {{ background: {BORDER}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 4px; margin-top: 14px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {DIM}; }}
QLabel[role="heading"] {{ font-weight: 600; color: {TEXT}; }}
QLabel[role="hint"] {{ color: {DIM}; }}
QLabel[role="warning"] {{ color: {WARNING}; }}
QLabel[role="error"] {{ color: {ERROR}; }}
QFrame[role="banner"] {{ background: #3a3220; border: 1px solid #6b5a2a; border-radius: 4px; }}
"""


def palette() -> QPalette:
    """The dark palette (used by widgets the stylesheet does not reach, e.g. native dialogs)."""
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: "#1f1f22",
        QPalette.ColorRole.ToolTipBase: RAISED,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: DIM,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: RAISED,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#151515",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.Light: "#4a4a4f",
        QPalette.ColorRole.Midlight: RAISED,
        QPalette.ColorRole.Mid: PANEL,
        QPalette.ColorRole.Dark: BORDER,
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(DIM))
    return p


def apply_theme(app: QApplication) -> None:
    """Fusion style, the dark palette, a readable font size and the stylesheet."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
