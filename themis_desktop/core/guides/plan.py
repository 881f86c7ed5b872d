"""The guides of an upgrade plan, and one combined checklist for the whole path."""

from __future__ import annotations

from dataclasses import dataclass

from themis_desktop.core.guides.library import Guide
from themis_desktop.core.guides.structure import PHASE_TITLES, PHASES, Option, normalize
from themis_desktop.core.versions.upgrade_path import Hop, Plan


@dataclass(frozen=True)
class CombinedStep:
    id: str
    phase: str
    text: str
    body: str
    hops: tuple[str, ...]  # the hops (e.g. "1.7→1.8") whose guides name this step
    options: tuple[Option, ...] = ()  # alternatives, one of which the admin takes


@dataclass(frozen=True)
class CombinedGuide:
    title: str
    warnings: tuple[str, ...]
    steps: tuple[CombinedStep, ...]
    missing: tuple[str, ...]  # hops without a guide

    def markdown(self) -> str:
        """The combined checklist as Markdown (for rendering, printing and reports)."""
        out = [f"# {self.title}", ""]
        if self.warnings:
            out += ['!!! warning "Read first"', *[f"    - {w}" for w in self.warnings], ""]
        for hop in self.missing:
            out += [
                f"> No migration guide exists for {hop}: follow the general best practices.",
                "",
            ]
        for phase in PHASES:
            steps = [s for s in self.steps if s.phase == phase]
            if steps:
                out += [f"## {PHASE_TITLES[phase]}", ""]
                for s in steps:
                    out.append(f"- [ ] {s.text} *({', '.join(s.hops)})*")
                    out += [f"    - Option {o.key}: {o.label}" for o in s.options]
                out.append("")
        return "\n".join(out)


def hop_lines(hop: Hop) -> list[tuple[str, str]]:
    """The (from line, to line) pairs a hop crosses, e.g. 1.5.0→1.8.2 skip-level: 1.5→1.7, …"""
    previous = f"{hop.source.line[0]}.{hop.source.line[1]}"
    pairs = []
    for line in hop.lines:
        if line != previous:
            pairs.append((previous, line))
        previous = line
    return pairs


def guide_for(guides: list[Guide], pair: tuple[str, str]) -> Guide | None:
    return next((g for g in guides if g.hop == pair), None)


def combine(plan: Plan, guides: list[Guide]) -> CombinedGuide:
    """All hops' steps in order with duplicates merged; skip-level warnings on top.

    A sequential path keeps each hop's phases together (hop by hop); a skip-level hop is
    one upgrade, so its guides' steps are merged phase by phase."""
    warnings = list(plan.warnings) + [f"Condition: {c}" for c in plan.conditions]
    ordered: list[tuple[str, Guide]] = []
    missing: list[str] = []
    for hop in plan.hops:
        for pair in hop_lines(hop):
            guide = guide_for(guides, pair)
            name = f"{pair[0]}→{pair[1]}"
            if guide is None:
                missing.append(name)
            else:
                ordered.append((name, guide))
    merged: dict[tuple[str, str], CombinedStep] = {}
    sequence: list[tuple[str, str]] = []
    phase_major = plan.skip_level
    steps = [(name, step) for name, guide in ordered for step in guide.steps]
    if phase_major:
        steps.sort(key=lambda item: PHASES.index(item[1].phase))  # stable: keeps hop order
    for name, step in steps:
        key = (step.phase, normalize(step.text))
        if key in merged:
            old = merged[key]
            if name not in old.hops:
                merged[key] = CombinedStep(
                    old.id, old.phase, old.text, old.body, (*old.hops, name), old.options
                )
            continue
        merged[key] = CombinedStep(step.id, step.phase, step.text, step.body, (name,), step.options)
        sequence.append(key)
    title = f"Upgrade {plan.current} → {plan.target}" + (" (skip-level)" if plan.skip_level else "")
    return CombinedGuide(title, tuple(warnings), tuple(merged[k] for k in sequence), tuple(missing))
