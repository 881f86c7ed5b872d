"""A card with everything the overview shows about one node."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.core.util.formatting import human_bytes, human_count, human_duration
from themis_desktop.ui.widgets.state_pill import StatePill

_FIELDS = (
    ("uptime", "Uptime"),
    ("qps", "Queries/s"),
    ("requests", "Requests"),
    ("errors", "Errors"),
    ("keys", "Keys"),
    ("live", "Live data"),
    ("compaction", "Pending compaction"),
    ("l0", "L0 files"),
)


class NodeCard(QFrame):
    """Shows one `NodeStatus`; `show_status` replaces everything it displays."""

    def __init__(self, node: NodeEndpoint) -> None:
        super().__init__()
        self.setObjectName("nodeCard")
        self.setMinimumWidth(280)
        self.setMaximumWidth(420)
        self.name = QLabel(node.name, objectName="cardTitle")
        self.pill = StatePill()
        self.version = QLabel("…", objectName="cardVersion")
        self.version.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.url = QLabel(node.url, objectName="muted")
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.build = QLabel("", objectName="muted")
        self.build.setWordWrap(True)
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(3)
        for row, (key, title) in enumerate(_FIELDS):
            value = QLabel("—", objectName="value")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.values[key] = value
            grid.addWidget(QLabel(title, objectName="muted"), row, 0)
            grid.addWidget(value, row, 1)
        self.cache = QProgressBar()
        self.cache.setTextVisible(True)
        self.cache.setMaximumHeight(16)
        self.message = QLabel("", objectName="cardError")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        top = QHBoxLayout()
        top.addWidget(self.name)
        top.addWidget(self.pill)
        top.addStretch()
        top.addWidget(self.version)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.url)
        layout.addWidget(self.build)
        layout.addLayout(grid)
        layout.addWidget(QLabel("Block cache", objectName="muted"))
        layout.addWidget(self.cache)
        layout.addWidget(self.message)

    def show_status(self, status: NodeStatus) -> None:
        self.pill.set_state(status.state)
        version = status.version
        self.version.setText(version_label(status))
        self.version.setToolTip(f"detected from {version.source}" if version else "")
        self.build.setText(_build_line(status))
        text = status.error or "\n".join(status.notes)
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self._show_numbers(status)

    def _show_numbers(self, status: NodeStatus) -> None:
        stats, health = status.stats, status.health
        shown = dict.fromkeys(self.values, "—")
        if health is not None:
            shown["uptime"] = human_duration(health.uptime_seconds)
        rocks = stats.rocksdb if stats else None
        if stats:
            share = stats.total_errors / stats.total_requests if stats.total_requests else 0.0
            shown |= {
                "qps": f"{stats.queries_per_second:.1f}",
                "requests": human_count(stats.total_requests),
                "errors": f"{human_count(stats.total_errors)} ({share:.2%})",
                "keys": _or_dash(human_count, rocks.estimate_num_keys),
                "live": _or_dash(human_bytes, rocks.estimate_live_data_size_bytes),
                "compaction": _or_dash(human_bytes, rocks.estimate_pending_compaction_bytes),
                "l0": str(rocks.files_per_level.get("L0", "—")),
            }
        used = rocks.block_cache_usage_bytes if rocks else None
        capacity = rocks.block_cache_capacity_bytes if rocks else None
        if used is not None and capacity:
            self.cache.setRange(0, 1000)
            self.cache.setValue(int(1000 * min(1.0, used / capacity)))
            self.cache.setFormat(f"{human_bytes(used)} of {human_bytes(capacity)}")
        else:
            self.cache.setRange(0, 1)
            self.cache.setValue(0)
            self.cache.setFormat("no data")
        for key, label in self.values.items():
            label.setText(shown[key])


def _or_dash(fmt, value: float | None) -> str:
    return "—" if value is None else fmt(value)


def version_label(status: NodeStatus) -> str:
    """`v1.7.3`; `≈ v1.0.0` when the node only told its era; `version ?` when unknown."""
    version = status.version
    if version is None:
        return "version ?"
    return f"v{version.version}" if version.exact else f"≈ v{version.version}"


def _build_line(status: NodeStatus) -> str:
    version = status.version
    if not version:
        return ""
    parts = []
    if version.edition:
        parts.append(f"{version.edition} edition")
    if version.build and version.build.build_type:
        compiler = " ".join(filter(None, [version.build.compiler, version.build.compiler_version]))
        parts.append(f"{version.build.build_type} build" + (f" ({compiler})" if compiler else ""))
    if version.api_version:
        parts.append(f"API {version.api_version}")
    return " · ".join(parts) or f"version from {version.source}"
