"""Edits a profile's service control: how the app stops, starts and installs its nodes.

Its rows go into the caller's QFormLayout (`add_to`), so they line up with the other fields.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from themis_desktop.core.connection.service_config import ALL_KINDS, ServiceConfig

KIND_LABELS = {
    "manual": "Manual — the app asks you to do each step",
    "systemd": "systemd — systemctl stop/start on this computer",
    "commands": "Commands — your own shell commands",
    "demo": "Demo instance — its control API",
    "ansible": "Ansible — plays run by ansible-runner (set on the command line)",
}
PLACEHOLDERS = "{node} {version} {data_dir} {config} {url} are filled in, shell-quoted."


class ServiceForm(QObject):
    """Kind combo plus the fields that kind uses; `config()` raises ValueError if invalid."""

    sig_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.form: QFormLayout | None = None
        self.kind = QComboBox()
        for kind in ALL_KINDS:
            self.kind.addItem(KIND_LABELS[kind], kind)
        self._loaded = ServiceConfig()  # what set_config showed: an ansible setup is kept
        self.kind.setToolTip("How upgrades and rollbacks stop, start and install the nodes")
        self.unit = QLineEdit(placeholderText="themisdb")
        self.unit.setToolTip("The systemd unit, e.g. themisdb (themisdb.service)")
        self.stop = QLineEdit(placeholderText="e.g. ssh {node} sudo systemctl stop themisdb")
        self.start = QLineEdit(placeholderText="e.g. ssh {node} sudo systemctl start themisdb")
        self.install = QLineEdit(
            placeholderText="e.g. ssh {node} sudo apt-get install -y themisdb={version} — "
            "empty: you install it and confirm"
        )
        self.check = QLineEdit(
            placeholderText="optional, e.g. ./check-keys.sh {url} — run after each upgrade"
        )
        for field in (self.stop, self.start, self.install, self.check):
            field.setToolTip(PLACEHOLDERS)
        self.binary = QLineEdit(
            placeholderText="optional, e.g. /usr/bin/themis_server — its --version is checked "
            "before each start"
        )
        self.binary.setToolTip(
            "The installed themis_server on this computer ({node} is filled in). Before a "
            "node is started on a new version, `themis_server --version` must say that version."
        )
        self.reload = QLineEdit(placeholderText="optional, e.g. ssh {node} pkill -HUP themis")
        self.reload.setToolTip(PLACEHOLDERS + " Sends SIGHUP (1.8+ re-reads TLS certificates).")
        self.pid_file = QLineEdit(placeholderText="optional, e.g. /run/themis-{node}.pid")
        self.pid_file.setToolTip(
            "The server's pid file ({node} is filled in). A stop then makes sure the process "
            "ends: SIGTERM (or the stop command), and SIGKILL when it still runs after the "
            "timeout. The 1.0.x server never exits on SIGTERM."
        )
        self.stop_timeout = QDoubleSpinBox(decimals=0, minimum=1, maximum=3600, suffix=" s")
        self.stop_timeout.setToolTip("How long a stopped server may take to exit before SIGKILL")
        self.pid_row = _row(self.pid_file, QLabel("SIGKILL after"), self.stop_timeout)
        self.write_check = QCheckBox("write a test key")
        self.write_check.setToolTip(
            "Readiness and validation write and read back themis-desktop:probe:<node>; "
            "without it they only read (/stats). /health alone can say healthy over a "
            "closed database."
        )
        self.check_row = _row(self.check, self.write_check)
        self.control_url = QLineEdit(readOnly=True)
        self.control_url.setToolTip("Set by demo mode: the demo-server's control API")
        self.error = QLabel("", objectName="feedback")
        self.error.setWordWrap(True)

        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        fields = (self.unit, self.stop, self.start, self.install, self.check, self.binary)
        for field in (*fields, self.reload, self.pid_file):
            field.textChanged.connect(self._on_field_changed)
        self.stop_timeout.valueChanged.connect(lambda _v: self._on_field_changed(""))
        self.write_check.toggled.connect(lambda _v: self._on_field_changed(""))
        self.set_config(ServiceConfig())

    def add_to(self, form: QFormLayout) -> None:
        """Add the section's rows to `form`; only the rows of the chosen kind are shown."""
        self.form = form
        rows: list[tuple[str, QWidget]] = [
            ("Service", self.kind),
            ("Unit", self.unit),
            ("Stop", self.stop),
            ("Start", self.start),
            ("Install", self.install),
            ("Binary", self.binary),
            ("Reload", self.reload),
            ("Pid file", self.pid_row),
            ("Control", self.control_url),
            ("Check", self.check_row),
            ("", self.error),
        ]
        for text, widget in rows:
            form.addRow(text, widget)
        self._refresh()

    def set_config(self, config: ServiceConfig) -> None:
        """Show `config` (model → widgets with signals blocked)."""
        widgets = (self.kind, self.unit, self.stop, self.start, self.install, self.check)
        widgets += (self.binary, self.reload, self.pid_file, self.stop_timeout, self.write_check)
        for widget in widgets:
            widget.blockSignals(True)
        self._loaded = config
        self.kind.setCurrentIndex(max(0, self.kind.findData(config.kind)))
        self.unit.setText(config.unit)
        self.stop.setText(config.stop)
        self.start.setText(config.start)
        self.install.setText(config.install)
        self.binary.setText(config.binary)
        self.control_url.setText(config.control_url)
        self.check.setText(config.check)
        self.reload.setText(config.reload)
        self.pid_file.setText(config.pid_file)
        self.stop_timeout.setValue(config.stop_timeout)
        self.write_check.setChecked(config.write_check)
        for widget in widgets:
            widget.blockSignals(False)
        self._refresh()

    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def config(self) -> ServiceConfig:
        """The config as edited, with only the fields its kind uses; ValueError if invalid."""
        return dataclasses.replace(
            self._kind_config(),
            check=self.check.text().strip(),
            write_check=self.write_check.isChecked(),
        )

    def _kind_config(self) -> ServiceConfig:
        kind = self.current_kind()
        fields = (self.unit, self.stop, self.start, self.install, self.binary)
        text = {w: w.text().strip() for w in fields}
        if kind == "systemd":
            unit = text[self.unit] or "themisdb"
            return ServiceConfig(
                kind, unit=unit, install=text[self.install], binary=text[self.binary]
            )
        if kind == "commands":
            return ServiceConfig(
                kind,
                stop=text[self.stop],
                start=text[self.start],
                install=text[self.install],
                binary=text[self.binary],
                reload=self.reload.text().strip(),
                pid_file=self.pid_file.text().strip(),
                stop_timeout=self.stop_timeout.value(),
            )
        if kind == "demo":
            return ServiceConfig(kind, control_url=self.control_url.text().strip())
        if kind == "ansible":  # its settings are the command line's: kept as they were
            if self._loaded.kind != "ansible":
                raise ValueError(
                    "an Ansible executor is set up on the command line: themis-desktop "
                    "profiles add NAME URL… --service ansible --ansible-control KIND …"
                )
            return self._loaded
        return ServiceConfig(kind)

    def _on_kind_changed(self, _index: int) -> None:
        self._refresh()
        self.sig_changed.emit()

    def _on_field_changed(self, _text: str) -> None:
        self._refresh()
        self.sig_changed.emit()

    def _refresh(self) -> None:
        kind = self.current_kind()
        shown = {
            self.unit: kind == "systemd",
            self.stop: kind == "commands",
            self.start: kind == "commands",
            self.install: kind in ("systemd", "commands"),
            self.binary: kind in ("systemd", "commands"),
            self.reload: kind == "commands",
            self.pid_row: kind == "commands",
            self.control_url: kind == "demo",
        }
        try:
            self.config()
        except ValueError as exc:
            self.error.setText(f"✘ {exc}")
        else:
            self.error.clear()
        shown[self.error] = bool(self.error.text())
        if self.form is not None:
            for widget, visible in shown.items():
                self.form.setRowVisible(widget, visible)


def _row(*widgets: QWidget) -> QWidget:
    """Several widgets on one form row."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
    return row
