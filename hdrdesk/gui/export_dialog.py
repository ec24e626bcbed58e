"""The export dialog: file, format, bit depth / quality, colour profile, optional maps."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.core.color_profiles import OUTPUT_PROFILES
from hdrdesk.core.gamma import GammaParams
from hdrdesk.export import ExportOptions

FORMATS = (("PNG", ".png"), ("TIFF", ".tif"), ("JPEG", ".jpg"))
PROFILE_LABELS = {"srgb": "sRGB (default)", "adobe-rgb": "Adobe RGB (1998)", "prophoto": "ProPhoto RGB", "input": "The input's profile"}
WIDE_GAMUTS = ("adobe-rgb", "prophoto", "input")
_SUFFIX_FORMAT = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG"}


class ExportDialog(QDialog):
    def __init__(self, default_path: Path, gamma_params: GammaParams, weights_available: bool, parent: QWidget | None = None, bits: int = 8,
                 quality: int = 95, masks_available: bool = False, profile: str = "srgb", input_profile: str = "sRGB") -> None:
        """``masks_available``: the result was deghosted; ``input_profile``: the name of the frames' own profile."""
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(600)  # the map options' labels are long
        self.gamma_params = gamma_params
        self.path = QLineEdit(str(default_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format = QComboBox()
        for name, _suffix in FORMATS:
            self.format.addItem(name)
        self.bits = QComboBox()
        self.bits.addItem("8 bit", 8)
        self.bits.addItem("16 bit", 16)
        self.bits.setCurrentIndex(1 if bits == 16 else 0)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(quality)
        self.weights = QCheckBox("Also write each exposure's weight map (16-bit PNG)")
        self.weights.setEnabled(weights_available)
        if not weights_available:
            self.weights.setToolTip("Mertens results have no network weight maps")
        self.gamma = QCheckBox(f"Also write the gamma maps ({gamma_params.variant}, window {gamma_params.window}; 16-bit PNG)")
        self.masks = QCheckBox("Also write each exposure's motion mask (16-bit PNG)")
        self.masks.setEnabled(masks_available)
        self.masks.setToolTip("1 where deghosting took the pixel from the reference frame" if masks_available
                              else "Motion masks come with deghosting (Fusion panel ▸ Deghost)")
        self.profile = QComboBox()
        for key in OUTPUT_PROFILES:
            self.profile.addItem(PROFILE_LABELS.get(key, key) + (f" ({input_profile})" if key == "input" else ""), key)
        self.profile.setCurrentIndex(max(0, self.profile.findData(profile)))
        self.profile.setToolTip("The result is converted from sRGB to this colour space and the file embeds its ICC profile")
        self.profile_hint = QLabel("")
        self.profile_hint.setProperty("dim", True)
        self.profile_hint.setWordWrap(True)
        self.note = QLabel("EXIF is copied from the middle exposure. Files are written completely or not at all.")
        self.note.setProperty("dim", True)
        self.note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("File", row)
        form.addRow("Format", self.format)
        form.addRow("Bit depth", self.bits)
        form.addRow("JPEG quality", self.quality)
        form.addRow("Colour profile", self.profile)
        form.addRow("", self.profile_hint)
        form.addRow("", self.weights)
        form.addRow("", self.gamma)
        form.addRow("", self.masks)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setProperty("primary", True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note)
        lay.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.path.textChanged.connect(self._path_changed)
        self.profile.currentIndexChanged.connect(lambda _i: self._update_hint())
        self.bits.currentIndexChanged.connect(lambda _i: self._update_hint())
        self._path_changed(self.path.text())
        self._format_changed()

    def _update_hint(self) -> None:
        wide = self.profile.currentData() in WIDE_GAMUTS
        deep = self.format.currentText() != "JPEG" and self.bits.currentData() == 16
        if not wide:
            text = "sRGB: what screens and the web expect."
        elif deep:
            text = "Wide gamut in 16 bits: smooth gradients survive editing."
        else:
            text = "A wide gamut spreads 8 bits over more colours: choose 16-bit TIFF to avoid banding in skies and gradients."
        self.profile_hint.setText(text)

    def _browse(self) -> None:
        filters = "PNG (*.png);;TIFF (*.tif *.tiff);;JPEG (*.jpg *.jpeg)"
        current = self.format.currentText()
        selected = {"PNG": "PNG (*.png)", "TIFF": "TIFF (*.tif *.tiff)", "JPEG": "JPEG (*.jpg *.jpeg)"}[current]
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", self.path.text(), filters, selected, QFileDialog.Option.DontConfirmOverwrite
        )
        if path:
            self.path.setText(path)

    def _path_changed(self, text: str) -> None:
        fmt = _SUFFIX_FORMAT.get(Path(text).suffix.lower())
        if fmt and fmt != self.format.currentText():
            self.format.blockSignals(True)
            self.format.setCurrentText(fmt)
            self.format.blockSignals(False)
            self._format_changed(update_path=False)

    def _format_changed(self, *_args, update_path: bool = True) -> None:
        fmt = self.format.currentText()
        jpeg = fmt == "JPEG"
        self.bits.setEnabled(not jpeg)
        self.quality.setEnabled(jpeg)
        self._update_hint()
        if update_path:
            p = Path(self.path.text())
            if _SUFFIX_FORMAT.get(p.suffix.lower()) != fmt:
                suffix = dict(FORMATS)[fmt]
                self.path.blockSignals(True)
                self.path.setText(str(p.with_suffix(suffix)))
                self.path.blockSignals(False)

    def options(self) -> ExportOptions:
        jpeg = self.format.currentText() == "JPEG"
        return ExportOptions(
            path=Path(self.path.text()).expanduser(),
            bits=8 if jpeg else int(self.bits.currentData()),
            quality=self.quality.value(),
            weights=self.weights.isChecked() and self.weights.isEnabled(),
            gamma=self.gamma.isChecked(),
            gamma_params=self.gamma_params,
            masks=self.masks.isChecked() and self.masks.isEnabled(),
            output_profile=self.profile.currentData(),
        )
