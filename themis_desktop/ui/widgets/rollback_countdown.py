"""The rollback-window countdown in the window header: band, time since the upgrade, time
left until the next band; it ticks every second and says when the band changes.

It is drawn neutral (the band as a coloured edge): the colour that judges the upgrade is
the health badge beside it, so a green "Easy rollback" never sits beside a failing hop.

It follows the newest thing that changed the cluster's version (`newest_change`): the
profile's upgrade session or its latest rollout, whichever started later; a "rolled back"
of the older one is not carried on once a newer one has started."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QTimer, Signal

from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.rollout import store as rollout_store
from themis_desktop.core.upgrade.rollback_window import WindowState, window
from themis_desktop.core.util.formatting import human_duration
from themis_desktop.ui import palette
from themis_desktop.ui.widgets.elided_label import ElidedLabel


class RollbackCountdown(ElidedLabel):
    sig_band_changed = Signal(str, str)  # band key (or "half-done"), a sentence to notify

    def __init__(self, clock=None) -> None:
        super().__init__()
        self.setObjectName("rollbackCountdown")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.finished_at: datetime | None = None
        self.hop_label = ""
        self.rolled_back = False
        self.state: WindowState | None = None
        self.mode = ""  # "binary swap" / "restore only" (`rollback_cost`), "" when unknown
        self.mode_detail = ""  # why, and the writes at risk, for the tooltip
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self.hide()

    def follow(self, finished_at: datetime | None, hop_label: str, rolled_back: bool) -> None:
        """Count from `finished_at` (None hides the countdown); `rolled_back` shows that."""
        same = finished_at == self.finished_at and rolled_back == self.rolled_back
        self.finished_at, self.hop_label, self.rolled_back = finished_at, hop_label, rolled_back
        if not same:
            self.state = None
        if finished_at is None and not rolled_back:
            self._timer.stop()
            self.hide()
            return
        self.show()
        self.tick()
        if rolled_back:
            self._timer.stop()
        else:
            self._timer.start()

    def tick(self) -> None:
        if self.rolled_back:
            self.setText(f"{self.hop_label}: rolled back")
            self.setToolTip("The hop was rolled back; its data and version were restored.")
            self._set_style(palette.SLATE)
            return
        if self.finished_at is None:
            return
        state = window(self.finished_at, self.clock())
        previous = self.state
        self.state = state
        text = f"{state.band.title} · {human_duration(state.elapsed)}"
        if state.to_next is not None and state.next_band is not None:
            text += f" · {human_duration(state.to_next)} to {state.next_band.key}"
        if self.mode:
            text += f" · {self.mode}"
        self.setText(text)
        self.setToolTip(
            f"Rollback window of {self.hop_label}: {human_duration(state.elapsed)} since its "
            f"new version answered.\n{state.band.meaning}"
            + (f"\n{self.mode_detail}" if self.mode_detail else "")
        )
        self._set_style(state.band.colour)
        if previous is not None and previous.band.key != state.band.key:
            self.sig_band_changed.emit(
                state.band.key, f"Rollback window of {self.hop_label}: {state.band.title}."
            )

    def set_mode(self, mode: str, detail: str = "") -> None:
        """How the followed hop can be undone now, shown after the time left."""
        if (mode, detail) != (self.mode, self.mode_detail):
            self.mode, self.mode_detail = mode, detail
            if not self.isHidden():
                self.tick()

    def _set_style(self, colour: str) -> None:
        style = _style(colour)
        if self.styleSheet() != style:
            self.setStyleSheet(style)
            self.updateGeometry()


def _style(colour: str) -> str:
    return (
        f"QLabel#rollbackCountdown {{ color: {palette.TEXT}; background: {palette.CHIP_FILL};"
        f" border-radius: 10px; border: 1px solid {palette.CHIP_BORDER};"
        f" border-left: 5px solid {colour}; padding: 2px 10px; }}"
    )


# -- what the countdown follows ------------------------------------------------------------


@dataclass(frozen=True)
class Follow:
    """The arguments of `RollbackCountdown.follow`."""

    finished_at: datetime | None
    label: str
    rolled_back: bool


HIDDEN = Follow(None, "", False)


@dataclass(frozen=True)
class RolloutTimes:
    """What the journal knows of a rollout's times (ISO, UTC)."""

    rollout_id: int | None
    created_at: str
    upgraded_at: str | None  # its first upgrade step done: the new version answered


def rollout_times(journal: Journal, rollout) -> RolloutTimes | None:
    """The times of `rollout` (`core.rollout.Rollout`), read on the journal thread."""
    if rollout is None or rollout.id is None:
        return None
    row = rollout_store.find(journal, rollout.id)
    if row is None:
        return None
    done = {f"Done: {s.title}" for s in rollout.steps if s.kind == "upgrade"}
    upgraded = next(
        (
            e.ts
            for e in journal.events(types=["rollout.step"])
            if e.data and e.data.get("rollout") == rollout.id and e.message in done
        ),
        None,
    )
    return RolloutTimes(rollout.id, row["created_at"], upgraded)


def session_follow(session) -> Follow:
    """A session (`core.session.UpgradeSession`): its last upgraded hop, or its rollback."""
    if session is None:
        return HIDDEN
    last, rolled = session.last_finished, session.rolled_back
    if rolled is not None and (last is None or rolled.position >= last.position):
        return Follow(None, rolled.label, True)
    if last is not None:
        return Follow(last.finished, last.label, False)
    return HIDDEN


def rollout_follow(rollout, times: RolloutTimes | None) -> Follow:
    """A rollout: counts from its first upgraded node while a node runs the new version;
    "rolled back" when every upgraded node was restored; nothing before an upgrade."""
    if rollout is None or times is None:
        return HIDDEN
    label = f"{rollout.strategy} rollout {rollout.from_version} → {rollout.to_version}"
    restored = set(rollout.restored)
    upgraded = [n for n in rollout.upgraded() if n not in restored]
    if upgraded:
        if times.upgraded_at is None:
            return HIDDEN  # its upgrade step runs: no node answers with the new version yet
        return Follow(parse_utc(times.upgraded_at), label, False)
    if restored:
        return Follow(None, label, True)
    return HIDDEN


def newest_change(session, rollout, times: RolloutTimes | None) -> Follow:
    """What the countdown follows: of the session and the rollout (same profile), the one
    started later; if it has changed no version yet, the older one, unless that one was
    rolled back (a stale "rolled back" is not shown beside a newer rollout or session)."""
    if rollout is None or times is None:
        return session_follow(session)
    if session is None:
        return rollout_follow(rollout, times)
    rollout_newer = parse_utc(times.created_at) > parse_utc(session.session.created_at)
    newer, older = (
        (rollout_follow(rollout, times), session_follow(session))
        if rollout_newer
        else (session_follow(session), rollout_follow(rollout, times))
    )
    if newer != HIDDEN:
        return newer
    return HIDDEN if older.rolled_back else older
