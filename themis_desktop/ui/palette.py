"""Every colour of the app, once, by its role.

Widgets, pages and plots take their colours from here (``palette.BAD_RED``), never a
hex literal of their own: tests/ui/test_palette.py fails on a hex colour anywhere else in
``themis_desktop/ui``. resources/style.qss cannot import Python, so it keeps its literals;
the same test checks that each of them is one of the values below.

The values are plain ``"#rrggbb"`` strings: they go into style sheets and rich text as
they are, and into ``QColor(...)`` or ``pg.mkPen(...)`` where a Qt object is needed.
Core's HTML (guides' and reports' CSS) is Qt-free and keeps its own copies.
"""

from __future__ import annotations

# --- text ------------------------------------------------------------------------------
TEXT = "#1d2733"  # body text (style.qss QWidget), the rollback countdown chip
INK = "#1f2a37"  # titles of plots, the version graph's ink, the sidebar's background
MUTED_TEXT = "#607080"  # secondary text, "no data", the plots' crosshair
QUIET_GREY = "#6b7280"  # debug log lines, a phase with no errors and no warnings
SLATE = "#44546a"  # a neutral state: polling, rolled back, restored, a plain chip

# --- states: a strong colour for text and lines, a pale one behind it -----------------
OK_GREEN = "#1f7a3a"  # up, done, an "ok" chip
OK_FILL = "#e3f4e8"
WARN_AMBER = "#8a5a00"  # not ready, a warning chip, event markers on plots
WARN_FILL = "#fff2d6"
WARNING_ORANGE = "#b45309"  # warning-level log lines and counts, a config change
BAD_RED = "#a4161a"  # down, failed, errors, a failed gate, the rollback marker
BAD_FILL = "#fde2e1"  # behind BAD_RED: a "down" pill, a "bad" chip, the trigger banner
BAD_TEXT = "#5c0a0d"  # text on BAD_FILL (the trigger banner)
BAD_NOTE = "#7a2a2d"  # secondary text on BAD_FILL (who acknowledged a trigger, when)
BUSY_ORANGE = "#c2410c"  # something under way: rolling back, the canary, node 3's line
NEUTRAL_FILL = "#e8edf3"  # behind SLATE
NOTICE_FILL = "#fff7e6"  # the rollout outcome box (stopped, aborted, failed)
NOTICE_BORDER = "#b7791f"
INFO_BLUE = "#1d4ed8"  # a recommended config change

# --- accents ---------------------------------------------------------------------------
ACCENT_BLUE = "#2a5db0"  # the target, stable/blue nodes, node 1's line, default buttons
SKY_BLUE = "#4c9aff"  # the target's outline in the graph, progress, the sidebar mark
ACCENT_GREEN = "#1f9d68"  # the current version, green/upgraded nodes, node 2's line
BRIGHT_GREEN = "#3ccf91"  # the current version's outline in the graph
VIOLET = "#7c3aed"
TEAL = "#0e7490"
CRIMSON = "#b91c1c"
OLIVE = "#4d7c0f"
# one line colour per node, in this order, on the metrics and rollout plots
NODE_COLOURS = (ACCENT_BLUE, ACCENT_GREEN, BUSY_ORANGE, VIOLET, TEAL, CRIMSON, OLIVE)

# --- surfaces and lines ----------------------------------------------------------------
WHITE = "#ffffff"
LABEL_FILL = "#ffffffc0"  # half-transparent white behind a label on a plot
EDGE_GREY = "#9aa8b8"  # the version graph's edges
BORDER_GREY = "#c3ccd6"  # a graph node's outline, button borders
PATH_FILL = "#f3f7ff"  # a release on the path
CURRENT_FILL = "#e6f8ef"  # the current release
TARGET_FILL = "#e8f1ff"  # the target release; the rollout step under way
CHIP_FILL = "#f1f4f8"  # the header's rollback countdown
CHIP_BORDER = "#d5dbe2"  # its border; a disabled button's
DIFF_REMOVED_FILL = "#fde2e2"  # config before/after: a line removed or changed
DIFF_ADDED_FILL = "#dcfce7"  # config before/after: a line added

# --- used only by resources/style.qss (kept here so the app has one list) -------------
WINDOW_FILL = "#f5f7fa"
FRAME_BORDER = "#dde3ea"
DEMO_VIOLET = "#6d3fc0"  # the "demo instance" badge
SIDEBAR_TEXT = "#d8dee6"
SIDEBAR_SELECTED = "#2c3a4b"
ERROR_FILL = "#fdf0ef"  # a page's or a node card's error box
ERROR_BORDER = "#f3c7c4"
PROGRESS_BORDER = "#cfd7e0"
PROGRESS_FILL = "#eef2f6"
HOVER_FILL = "#eef4ff"
DISABLED_TEXT = "#9aa5b1"
DISABLED_FILL = "#eef1f4"
