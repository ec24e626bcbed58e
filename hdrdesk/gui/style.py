"""A neutral dark look for photo work: mid-dark greys without a colour cast, one accent."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# Neutral greys (R = G = B) so the surroundings do not tint the photo.
BG_DARKEST = "#1b1b1b"  # image canvas
BG_DARK = "#232323"  # panels
BG = "#2b2b2b"  # window
BG_LIGHT = "#353535"  # inputs, buttons
BG_LIGHTER = "#414141"  # hover
BORDER = "#3c3c3c"
TEXT = "#dcdcdc"
TEXT_DIM = "#9a9a9a"
ACCENT = "#3d8fd6"  # selection, focus, progress
ACCENT_DARK = "#2c6ca6"
# the app's style gives primary buttons no disabled look; the tool panels disable them often
PRIMARY_DISABLED_CSS = (
    'QPushButton[primary="true"]:disabled { background: #2e2e2e; color: #6a6a6a; border-color: #383838; }'
)
ERROR = "#b8473d"
WARNING = "#b58a2e"
INFO = "#3a6f98"
SUCCESS = "#4c8a4f"


def palette() -> QPalette:
    p = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: c(BG),
        QPalette.ColorRole.WindowText: c(TEXT),
        QPalette.ColorRole.Base: c(BG_DARK),
        QPalette.ColorRole.AlternateBase: c(BG),
        QPalette.ColorRole.ToolTipBase: c("#101010"),
        QPalette.ColorRole.ToolTipText: c(TEXT),
        QPalette.ColorRole.PlaceholderText: c(TEXT_DIM),
        QPalette.ColorRole.Text: c(TEXT),
        QPalette.ColorRole.Button: c(BG_LIGHT),
        QPalette.ColorRole.ButtonText: c(TEXT),
        QPalette.ColorRole.BrightText: c("#ffffff"),
        QPalette.ColorRole.Highlight: c(ACCENT),
        QPalette.ColorRole.HighlightedText: c("#ffffff"),
        QPalette.ColorRole.Link: c(ACCENT),
        QPalette.ColorRole.Light: c(BG_LIGHTER),
        QPalette.ColorRole.Midlight: c(BG_LIGHT),
        QPalette.ColorRole.Mid: c(BORDER),
        QPalette.ColorRole.Dark: c(BG_DARKEST),
        QPalette.ColorRole.Shadow: c("#000000"),
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, c("#6a6a6a"))
    return p


STYLESHEET = f"""
QMainWindow, QDialog {{ background: {BG}; }}
QWidget {{ font-size: 10pt; }}
QToolTip {{ background: #101010; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px 6px; }}
QMenuBar {{ background: {BG_DARK}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item {{ padding: 4px 10px; background: transparent; }}
QMenuBar::item:selected {{ background: {BG_LIGHT}; }}
QMenu {{ background: {BG_DARK}; border: 1px solid {BORDER}; padding: 4px 0; }}
QMenu::item {{ padding: 5px 28px 5px 24px; }}
QMenu::item:selected {{ background: {ACCENT_DARK}; }}
QMenu::item:disabled {{ color: #6a6a6a; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}
QToolBar {{ background: {BG_DARK}; border: none; border-bottom: 1px solid {BORDER}; spacing: 4px; padding: 3px 6px; }}
QToolBar::separator {{ width: 1px; background: {BORDER}; margin: 4px 6px; }}
QToolButton {{ background: transparent; border: 1px solid transparent; border-radius: 4px; padding: 4px 8px; color: {TEXT}; }}
QToolButton:hover {{ background: {BG_LIGHT}; border-color: {BORDER}; }}
QToolButton:pressed, QToolButton:checked {{ background: {BG_LIGHTER}; border-color: #505050; }}
QToolButton:disabled {{ color: #6a6a6a; }}
QPushButton {{ background: {BG_LIGHT}; border: 1px solid #474747; border-radius: 4px; padding: 5px 14px; color: {TEXT}; }}
QPushButton:hover {{ background: {BG_LIGHTER}; }}
QPushButton:pressed {{ background: #2f2f2f; }}
QPushButton:disabled {{ color: #6a6a6a; background: #2e2e2e; border-color: #383838; }}
QPushButton[primary="true"] {{ background: {ACCENT_DARK}; border-color: {ACCENT}; color: white; }}
QPushButton[primary="true"]:hover {{ background: {ACCENT}; }}
QLineEdit {{ background: {BG_DARKEST}; border: 1px solid #444; border-radius: 3px; padding: 3px 5px; selection-background-color: {ACCENT}; }}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QComboBox QAbstractItemView {{ background: {BG_DARK}; border: 1px solid {BORDER}; selection-background-color: {ACCENT_DARK}; }}
QCheckBox, QRadioButton {{ spacing: 6px; }}
QSlider::groove:horizontal {{ height: 4px; background: #444; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT_DARK}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: #cfcfcf; width: 12px; height: 12px; margin: -5px 0; border-radius: 6px; }}
QSlider::handle:horizontal:hover {{ background: #ffffff; }}
QSlider::handle:horizontal:disabled {{ background: #666; }}
QProgressBar {{ background: {BG_DARKEST}; border: 1px solid #444; border-radius: 3px; height: 12px; text-align: center; color: {TEXT}; font-size: 8pt; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}
QStatusBar {{ background: {BG_DARK}; border-top: 1px solid {BORDER}; color: {TEXT_DIM}; }}
QStatusBar::item {{ border: none; }}
QStatusBar QLabel {{ color: {TEXT_DIM}; padding: 0 6px; }}
QDockWidget {{ color: {TEXT_DIM}; font-weight: 600; }}
QDockWidget::title {{ background: {BG_DARK}; padding: 5px 8px; border-bottom: 1px solid {BORDER}; text-transform: uppercase; }}
QDockWidget > QWidget {{ background: {BG}; }}
QMainWindow::separator {{ background: {BG_DARKEST}; width: 3px; height: 3px; }}
QMainWindow::separator:hover {{ background: {ACCENT_DARK}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 4px; margin-top: 14px; padding-top: 6px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; color: {TEXT_DIM}; }}
QScrollBar:horizontal {{ height: 10px; background: transparent; }}
QScrollBar:vertical {{ width: 10px; background: transparent; }}
QScrollBar::handle {{ background: #4a4a4a; border-radius: 4px; min-height: 24px; min-width: 24px; }}
QScrollBar::handle:hover {{ background: #5a5a5a; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
QTableWidget {{ background: {BG_DARK}; gridline-color: {BORDER}; border: none; }}
QHeaderView::section {{ background: {BG}; color: {TEXT_DIM}; border: none; border-bottom: 1px solid {BORDER}; padding: 3px 6px; }}
QListWidget#filmstrip {{ background: {BG_DARK}; border: none; outline: none; }}
QGraphicsView {{ background: {BG_DARKEST}; border: none; }}
QDockWidget QScrollArea {{ background: {BG}; border: none; }}
QDockWidget QScrollArea > QWidget > QWidget {{ background: {BG}; }}
QLabel[dim="true"] {{ color: {TEXT_DIM}; }}
QLabel[heading="true"] {{ color: {TEXT_DIM}; font-size: 8pt; font-weight: 600; }}
QSplitter::handle {{ background: {BG_DARKEST}; }}
QTabWidget::pane {{ border: 1px solid {BORDER}; }}
QTabBar::tab {{ background: {BG_DARK}; padding: 5px 12px; border: 1px solid {BORDER}; border-bottom: none; }}
QTabBar::tab:selected {{ background: {BG_LIGHT}; }}
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(palette())
    app.setStyleSheet(STYLESHEET)
