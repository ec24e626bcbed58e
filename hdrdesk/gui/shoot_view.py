"""The shoot window's widgets: the brackets table, the selected group's frames, the output options,
the queue's progress and the summary. No logic (see :mod:`hdrdesk.gui.shoot_controller`)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.gui import style
from hdrdesk.gui.shoot_table import COL_FRAMES, COL_INDEX, COL_NAMES, COL_OUTPUT, COL_STATUS, COL_TIME, ROW_H, TILE_W

#: Output formats offered: (label, suffix, bits)
FORMATS = (("JPEG", ".jpg", 8), ("PNG 8-bit", ".png", 8), ("PNG 16-bit", ".png", 16), ("TIFF 8-bit", ".tif", 8), ("TIFF 16-bit", ".tif", 16))
EXISTING = (("Skip (a re-run goes on)", "skip"), ("Replace", "replace"))
FRAME_ICON = QSize(150, 100)


def _button(text: str, tip: str, shortcut: str = "") -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
    if shortcut:
        b.setShortcut(QKeySequence(shortcut))
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return b


class ShootWindow(QMainWindow):
    """A whole shoot: its brackets and singles, edits, and 'Fuse all'. ``closing`` is emitted when it closes."""

    closing = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("shoot_window")
        self.setWindowTitle("Shoot — HDRDesk")
        self.resize(1280, 860)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(6)
        self.setCentralWidget(central)

        # heading: what was found, notes
        self.heading = QLabel()
        self.heading.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(f"color: {style.WARNING};")
        self.notes.hide()
        lay.addWidget(self.heading)
        lay.addWidget(self.notes)

        # the summary of the last run
        self.summary = QFrame()
        self.summary.setObjectName("shoot_summary")
        self.summary.setStyleSheet(f"#shoot_summary {{ background: {style.BG_DARK}; border: 1px solid {style.BORDER}; border-radius: 6px; }}")
        srow = QHBoxLayout(self.summary)
        srow.setContentsMargins(10, 6, 10, 6)
        self.summary_text = QLabel()
        self.summary_text.setWordWrap(True)
        self.summary_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_folder_button = QPushButton("Show in folder")
        self.summary_close = _button("✕", "Hide the summary")
        srow.addWidget(self.summary_text, 1)
        srow.addWidget(self.show_folder_button, 0, Qt.AlignmentFlag.AlignTop)
        srow.addWidget(self.summary_close, 0, Qt.AlignmentFlag.AlignTop)
        self.summary.hide()
        lay.addWidget(self.summary)

        # edit bar
        bar = QHBoxLayout()
        self.open_button = _button("Open in main view", "Open the selected bracket in the main window to inspect and tune it "
                                   "(Return in the table, or double-click)")
        self.split_button = _button("Split before frame", "Split the selected bracket before the frame selected below", "Ctrl+K")
        self.merge_button = _button("Merge with next", "Join the selected group and the one after it into one bracket", "Ctrl+M")
        self.exclude_button = _button("Exclude", "Leave the selected bracket out of 'Fuse all'", "Delete")
        self.exclude_button.setCheckable(True)
        for b in (self.open_button, self.split_button, self.merge_button, self.exclude_button):
            bar.addWidget(b)
        bar.addStretch(1)
        self.selection_label = QLabel()
        self.selection_label.setStyleSheet(f"color: {style.TEXT_DIM};")
        bar.addWidget(self.selection_label)
        lay.addLayout(bar)

        # the table and the selected group's frames
        self.table = QTableView()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(ROW_H)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Return opens the bracket only from the table (in the name or folder field it ends the edit)
        self.open_shortcut = QShortcut(QKeySequence("Return"), self.table, context=Qt.ShortcutContext.WidgetShortcut)

        detail = QWidget()
        dlay = QVBoxLayout(detail)
        dlay.setContentsMargins(0, 4, 0, 0)
        drow = QHBoxLayout()
        self.detail_title = QLabel("Frames")
        self.detail_title.setStyleSheet("font-weight: 600;")
        self.earlier_button = _button("◀ Earlier", "Move the selected frame one place earlier", "Ctrl+Left")
        self.later_button = _button("Later ▶", "Move the selected frame one place later", "Ctrl+Right")
        drow.addWidget(self.detail_title)
        drow.addStretch(1)
        drow.addWidget(self.earlier_button)
        drow.addWidget(self.later_button)
        dlay.addLayout(drow)
        self.frames_list = QListWidget()
        self.frames_list.setViewMode(QListView.ViewMode.IconMode)
        self.frames_list.setFlow(QListView.Flow.LeftToRight)
        self.frames_list.setWrapping(False)
        self.frames_list.setMovement(QListView.Movement.Static)
        self.frames_list.setIconSize(FRAME_ICON)
        self.frames_list.setGridSize(QSize(FRAME_ICON.width() + 24, FRAME_ICON.height() + 44))
        self.frames_list.setFixedHeight(FRAME_ICON.height() + 66)
        self.frames_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        dlay.addWidget(self.frames_list)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(detail)
        split.setStretchFactor(0, 1)
        split.setChildrenCollapsible(False)
        lay.addWidget(split, 1)

        # output options and the queue
        out = QHBoxLayout()
        out.addWidget(QLabel("Save to"))
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("output folder")
        self.folder_edit.setMinimumWidth(280)
        self.browse_button = QPushButton("Browse…")
        out.addWidget(self.folder_edit, 2)
        out.addWidget(self.browse_button)
        out.addSpacing(10)
        out.addWidget(QLabel("Format"))
        self.format_combo = QComboBox()
        for label, suffix, bits in FORMATS:
            self.format_combo.addItem(label, (suffix, bits))
        out.addWidget(self.format_combo)
        out.addSpacing(10)
        out.addWidget(QLabel("Name"))
        self.pattern_edit = QLineEdit()
        self.pattern_edit.setToolTip("Output name without extension: {first}, {last} (first/last frame's name), {folder}, "
                                     "{index} (e.g. {index:03d}), {frames}")
        self.pattern_edit.setMaximumWidth(170)
        out.addWidget(self.pattern_edit, 1)
        out.addSpacing(10)
        out.addWidget(QLabel("Existing files"))
        self.existing_combo = QComboBox()
        for label, key in EXISTING:
            self.existing_combo.addItem(label, key)
        out.addWidget(self.existing_combo)
        lay.addLayout(out)

        run = QHBoxLayout()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.overall = QProgressBar()
        self.overall.setRange(0, 1000)
        self.overall.setFormat("%p %")
        self.overall.setMinimumWidth(260)
        self.overall.hide()
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.fuse_button = QPushButton("Fuse all")
        self.fuse_button.setProperty("primary", True)
        self.fuse_button.setMinimumWidth(120)
        self.fuse_button.setStyleSheet(
            f"QPushButton {{ background: {style.ACCENT_DARK}; color: white; font-weight: 600; padding: 5px 16px; }}"
            f"QPushButton:disabled {{ background: #2e2e2e; color: #6a6a6a; }}"
        )
        run.addWidget(self.message, 1)
        run.addWidget(self.overall)
        run.addWidget(self.pause_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.fuse_button)
        lay.addLayout(run)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.closing.emit()
        super().closeEvent(event)

    # ----------------------------------------------------------------- helpers
    def set_columns(self, max_frames: int) -> None:
        """Column widths once a model is set: the previews column fits the longest bracket (up to 7 frames) and a result."""
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(COL_INDEX, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(COL_INDEX, 40)
        h.setSectionResizeMode(COL_FRAMES, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(COL_FRAMES, 12 + (min(max(max_frames, 3), 7) + 1) * (TILE_W + 6) + 18)
        self.table.setColumnWidth(COL_NAMES, 215)
        self.table.setColumnWidth(COL_TIME, 160)
        self.table.setColumnWidth(COL_OUTPUT, 160)
        h.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Stretch)

    def set_frames(self, title: str, items: list[tuple[str, QImage | None]]) -> None:
        """The selected group's frames: (caption, preview) each."""
        self.detail_title.setText(title)
        current = self.frames_list.currentRow()
        self.frames_list.clear()
        for caption, img in items:
            it = QListWidgetItem(caption)
            if img is not None and not img.isNull():
                it.setIcon(QPixmap.fromImage(img))
            it.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.frames_list.addItem(it)
        if items:
            self.frames_list.setCurrentRow(min(max(current, 0), len(items) - 1))

    def set_running(self, running: bool) -> None:
        """While the queue runs: no edits, Pause and Cancel shown."""
        for w in (self.split_button, self.merge_button, self.exclude_button, self.earlier_button, self.later_button,
                  self.folder_edit, self.browse_button, self.format_combo, self.pattern_edit, self.existing_combo, self.fuse_button):
            w.setEnabled(not running)
        self.overall.setVisible(running)
        self.pause_button.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        if not running:
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")

    def show_message(self, text: str, level: str = "info") -> None:
        colour = {"error": style.ERROR, "warning": style.WARNING}.get(level, style.TEXT_DIM)
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)
