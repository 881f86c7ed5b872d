"""Beside the version graph: the release notes of a line, or the summary of one hop."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QTextBrowser, QWidget

from themis_desktop.core.versions.known_issues import MEANING, hop_warnings
from themis_desktop.core.versions.releases import Catalogue, KnownIssue, Release, ReleaseLine
from themis_desktop.core.versions.upgrade_path import Hop
from themis_desktop.ui import palette
from themis_desktop.ui.widgets.graph_style import REVERSIBILITY_TEXT

RED, AMBER, GREEN, MUTED = palette.BAD_RED, palette.WARN_AMBER, palette.OK_GREEN, palette.MUTED_TEXT
KIND_TEXT = {
    "minor": "A minor hop: one line at a time, as the upgrade docs ask",
    "patch": "A patch upgrade within one line; no migration guide is needed",
    "skip-level": "A skip-level jump over several lines: not recommended",
}


def _items(title: str, texts: tuple[str, ...], colour: str = "") -> str:
    if not texts:
        return f"<p><b>{title}:</b> <span style='color:{MUTED}'>none listed</span></p>"
    style = f" style='color:{colour}'" if colour else ""
    rows = "".join(f"<li>{escape(text)}</li>" for text in texts)
    return f"<p><b{style}>{title} ({len(texts)}):</b></p><ul>{rows}</ul>"


def status_html(release: Release) -> str:
    """A release's status with its evidence and upstream sources; "" for a plain release."""
    if release.status == "released":
        return ""
    colour = AMBER if release.status in ("contested", "planned") else RED
    what = {
        "contested": "Contested: upstream's documents disagree whether it was released",
        "planned": "Planned: announced, not released; never a stop",
        "withdrawn": "Withdrawn: never a stop",
        "known-bad": "Known-bad: never a stop",
    }[release.status]
    sources = ", ".join(release.source) or "none recorded"
    return (
        f"<br><span style='color:{colour}'><b>{what}.</b></span> {escape(release.evidence)}"
        f"<br><span style='color:{MUTED}'>Sources (makr-code/ThemisDB): {escape(sources)}</span>"
    )


def issues_html(title: str, issues: tuple[KnownIssue, ...]) -> str:
    """Known issues: what each does, what it gets in the way of, the evidence and what to do."""
    if not issues:
        return ""
    rows = "".join(
        f"<li><b>{escape(i.summary)}</b><br>Affects: "
        f"{escape('; '.join(MEANING.get(a, a) for a in i.affects))}."
        f"<br><b>What to do:</b> {escape(i.workaround)}"
        f"<br><span style='color:{MUTED}'>Evidence: {escape(i.evidence)} Sources "
        f"(makr-code/ThemisDB): {escape(', '.join(i.source) or 'none recorded')}</span></li>"
        for i in issues
    )
    return f"<p><b style='color:{AMBER}'>{escape(title)} ({len(issues)}):</b></p><ul>{rows}</ul>"


def _reversibility(kind: str, note: str) -> str:
    colour = {"binary-swap": GREEN, "restore-backup": AMBER}.get(kind, RED)
    text = f"<b>Rolling back:</b> <span style='color:{colour}'>{REVERSIBILITY_TEXT[kind]}</span>"
    return f"<p>{text}" + (f"<br>{escape(note)}" if note else "") + "</p>"


class ReleasePanel(QTextBrowser):
    """Read-only notes. `line` or `hop` says what it shows (for tests and later pages)."""

    def __init__(self, catalogue: Catalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalogue = catalogue
        self.setObjectName("releasePanel")
        self.setOpenExternalLinks(False)
        self.line: ReleaseLine | None = None
        self.hop: Hop | None = None
        self.show_intro()

    def show_intro(self) -> None:
        self.line, self.hop = None, None
        self.setHtml(
            f"<h3>Release notes</h3><p style='color:{MUTED}'>Click a release line in the graph "
            "(or select it with the arrow keys and press Enter) for its releases and what the "
            "hop into it changes. Click an arrow for that hop's summary.</p>"
        )

    def show_line(self, line: ReleaseLine) -> None:
        self.line, self.hop = line, None
        parts = [f"<h3>ThemisDB {escape(line.name)}</h3><p>{escape(line.summary)}</p>"]
        if line.notes:
            parts.append(f"<p><i>{escape(line.notes)}</i></p>")
        if line.contested:
            parts.append(
                f"<p style='color:{AMBER}'><b>Contested line:</b> a path through "
                f"{escape(line.name)} stops here only once you confirm you have the release.</p>"
            )
        if line.stop is not None:
            reasons = "".join(f"<br>{escape(r)}" for r in line.stop_reasons())
            parts.append(f"<p><b>A path stops at {escape(line.stop.text)}</b>{reasons}</p>")
        parts.append(issues_html(f"Known issues of every {line.name} release", line.known_issues))
        parts.append("<h4>Releases</h4>")
        for release in reversed(line.releases):
            flags = " · pre-release" if release.prerelease else ""
            parts.append(
                f"<p><b>{escape(release.text)}</b> · {escape(release.date or 'date unknown')}"
                f" <span style='color:{MUTED}'>({release.confidence} confidence{flags})</span>"
                + (f"<br>{escape(release.summary)}" if release.summary else "")
                + status_html(release)
                + "</p>"
                + issues_html(f"Known issues of {release.text}", release.known_issues)
            )
        if self.catalogue.index_of(line.key) == 0:
            parts.append(f"<p style='color:{MUTED}'>The oldest line: no hop leads into it.</p>")
        else:
            parts.append(f"<h4>The hop into {escape(line.name)}</h4>")
            parts.append(self._guide(line.guide, line.guide_note))
            parts.append(_items("Breaking changes", line.breaking_changes, AMBER))
            parts.append(_items("Deprecations", line.deprecations))
            parts.append(_reversibility(line.reversibility, line.reversibility_note))
            if line.required:
                parts.append("<p><b>Required stop</b> for every installation.</p>")
        self.setHtml("".join(parts))

    def show_hop(self, hop: Hop, number: int | None = None, total: int = 0, ponr: bool = False):
        """A hop's summary; `number` of `total` when it is a stop of the shown plan."""
        self.hop, self.line = hop, None
        where = f"Hop {number} of {total}: " if number else "Hop "
        parts = [f"<h3>{where}{escape(hop.title)}</h3>", f"<p>{KIND_TEXT[hop.kind]}.</p>"]
        if number is None:
            parts.append(f"<p style='color:{MUTED}'>Not a stop of the planned path.</p>")
        if hop.target.status != "released":
            confirmed = (
                " You confirmed you have it."
                if hop.confirmed
                else " Check that you can install it; confirm it in the plan summary."
            )
            parts.append(
                f"<p><b>{escape(hop.target.text)}</b>{status_html(hop.target)}"
                + (confirmed if hop.target.status == "contested" else "")
                + "</p>"
            )
        notes = [n for n in hop.notes if not n.startswith(f"{hop.target} is contested")]
        if notes:
            rows = "".join(f"<li>{escape(n)}</li>" for n in notes)
            parts.append(f"<p><b>Why this stop:</b></p><ul>{rows}</ul>")
        if hop.kind == "skip-level":
            lines = escape(", ".join(hop.lines))
            parts.append(f"<p>Goes through the lines {lines} at once: all their changes apply.</p>")
        if hop.guide != "not-needed":
            lines = [self.catalogue.line(_key(name)) for name in hop.lines]
            note = " ".join(line.guide_note for line in lines if line and line.guide_note)
            parts.append(self._guide(hop.guide == "available", note))
        parts.append(_items("Breaking changes", hop.breaking_changes, AMBER))
        parts.append(_items("Deprecations", hop.deprecations))
        parts.append(_reversibility(hop.reversibility, hop.reversibility_note))
        warnings = hop_warnings(self.catalogue, hop.source, hop.target)
        if warnings:
            rows = "".join(f"<li>{escape(w)}</li>" for w in warnings)
            parts.append(f"<p><b style='color:{AMBER}'>Known issues on this hop:</b></p>")
            parts.append(f"<ul>{rows}</ul>")
        if ponr:
            parts.append(
                f"<p style='color:{RED}'><b>Point of no return.</b> After this hop, reinstalling "
                "the previous binary no longer rolls back: restore the backup taken just before "
                "it (writes made since are lost). Take and verify that backup first.</p>"
            )
        if hop.required:
            parts.append("<p><b>Required stop</b> for every installation.</p>")
        self.setHtml("".join(parts))

    @staticmethod
    def _guide(available: bool, note: str) -> str:
        text = (
            f"<span style='color:{GREEN}'>an upstream migration guide exists</span>"
            if available
            else f"<span style='color:{AMBER}'>no upstream migration guide yet</span> — follow "
            "the release notes, the breaking changes below and the general checklist"
        )
        return f"<p><b>Guide:</b> {text}." + (f"<br>{escape(note)}" if note else "") + "</p>"


def _key(name: str) -> tuple[int, int]:
    major, minor = name.split(".")
    return int(major), int(minor)
