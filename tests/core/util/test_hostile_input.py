"""Hostile input: every YAML/JSON file a user gives and every guide is read within limits.

Nothing a file holds may take the app down, hang it or eat the machine's memory: alias
bombs, deep nesting, huge numbers, binary bytes and oversized or pathological guides end in
a clear `file:line: reason` (or a guide shown as plain text under a warning), fast and in
little memory. The files are real files in temporary folders.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from themis_desktop.cli import main
from themis_desktop.core.config.file import ConfigDocument, ConfigError
from themis_desktop.core.guides.library import load_guide, parse_guide
from themis_desktop.core.guides.render import render_guide, render_markdown
from themis_desktop.core.versions.catalogue_file import CatalogueError, load_catalogue

MEMORY_LIMIT_MIB = 500


def _alias_bomb(levels: int = 9) -> list[str]:
    """The lines of a "billion laughs": each anchor holds nine aliases of the one before."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return lines


def _run_limited(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """The command line in a child process that may map at most MEMORY_LIMIT_MIB."""
    code = (
        "import resource, sys\n"
        f"limit = {MEMORY_LIMIT_MIB} << 20\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "from themis_desktop.cli import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "finally:\n"  # VmHWM: this process's peak (ru_maxrss would include pytest's at fork)
        "    hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
        "    print(f'peak-rss-mib={int(hwm) >> 10}', file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "THEMIS_DESKTOP_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env
    )


def _peak_rss_mib(stderr: str) -> int:
    return int(stderr.rsplit("peak-rss-mib=", 1)[1].split()[0])


# -- config files ----------------------------------------------------------------------


def test_yaml_alias_bomb_is_refused_with_file_and_line(tmp_path, isolated_home):
    bomb = tmp_path / "node.yaml"  # 900 bytes; the bomb sits at a key the advisor reads
    lines = [*_alias_bomb(8), "storage:", f"  memtable_size_mb: [{', '.join(['*a7'] * 9)}]"]
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 1000
    started = time.monotonic()
    result = _run_limited(
        ["config", "check", "--config", str(bomb), "--target", "latest"], isolated_home
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{bomb}:6: more than 100000 values once aliases are expanded" in result.stderr
    assert "billion laughs" in result.stderr
    assert _peak_rss_mib(result.stderr) < 150
    assert time.monotonic() - started < 30


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    loop = tmp_path / "node.yaml"
    loop.write_text("storage:\n  paths: &p\n    - /data\n    - *p\n")
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(loop)
    assert str(caught.value).startswith(f"{loop}:4: the alias *p is inside its own anchor")


def test_ordinary_anchors_and_aliases_still_load_and_keep_comments(tmp_path):
    config = tmp_path / "node.yaml"
    text = (
        "# node config\n"
        "defaults: &defaults\n"
        "  compression: zstd  # fast enough\n"
        "storage:\n"
        "  hot: *defaults\n"
        "  cold: *defaults\n"
    )
    config.write_text(text)
    doc = ConfigDocument.load(config)
    assert doc.get("storage.cold.compression") == "zstd"
    assert doc.dumps() == text


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("storage:\n  paths: " + "[" * 5000 + "]" * 5000 + "\n", 2),  # flow style
        ("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n", 65),  # block
    ],
)
def test_yaml_nested_deeper_than_the_limit_is_refused_with_its_line(tmp_path, text, line):
    config = tmp_path / "node.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(config)
    assert str(caught.value).startswith(f"{config}:{line}: nested more than 64 levels deep")


def test_json_nested_deeper_than_the_limit_is_refused_with_its_line(tmp_path):
    config = tmp_path / "node.json"
    config.write_text('{\n  "storage": ' + "[" * 100_000 + "]" * 100_000 + "\n}\n")
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(config)
    assert str(caught.value).startswith(f"{config}:2: nested more than 64 levels deep")


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("node.yaml", "storage:\n  memtable_size_mb: " + "9" * 5000 + "\n", 2),
        ("node.json", '{\n  "storage": {"memtable_size_mb": -' + "9" * 5000 + "}\n}\n", 2),
    ],
)
def test_a_5000_digit_number_in_a_config_names_the_file_and_line(tmp_path, name, text, line):
    config = tmp_path / name
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(config)
    assert str(caught.value).startswith(f"{config}:{line}: a number with 5000 digits")
    assert "quote it if it is meant as text" in str(caught.value)


def test_a_long_number_as_quoted_text_is_fine(tmp_path):
    config = tmp_path / "node.yaml"
    config.write_text(f"server:\n  token_hint: '{'9' * 5000}'\n")
    assert ConfigDocument.load(config).get("server.token_hint") == "9" * 5000


def test_a_config_over_the_size_limit_is_refused_unread(tmp_path):
    config = tmp_path / "node.yaml"
    config.write_text("# padding\n" * 200_000)  # 2 MiB of comments
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(config)
    assert str(caught.value) == (
        f"{config}: config file too large: 1.9 MiB, limit 1 MiB (a config file this big is "
        "not one a person wrote; check that it is the right file)"
    )


def test_a_binary_config_names_the_file_and_the_line_of_the_bad_byte(tmp_path):
    config = tmp_path / "node.yaml"
    config.write_bytes(b"storage:\n  x: 1\n\x89PNG\r\n\x1a\n")
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(config)
    assert str(caught.value).startswith(f"{config}:3: not a text file (not UTF-8): byte 0x89")


# -- release catalogues ----------------------------------------------------------------


def _nested_catalogue(path: Path) -> Path:
    path.write_text(
        'lines:\n  - line: "3.0"\n    summary: ' + "[" * 5000 + "]" * 5000 + "\n"
        "    releases:\n      - {version: 3.0.0}\n"
    )
    return path


def test_a_nested_user_catalogue_does_not_break_path_releases_or_config_check(
    capsys, tmp_path, isolated_home
):
    user = _nested_catalogue(isolated_home / "releases.yaml")
    config = tmp_path / "node.yaml"
    config.write_text("storage:\n  memtable_size_mb: 64\n")
    for args in (
        ["path", "--from", "1.7", "--to", "1.8"],
        ["releases"],
        ["config", "check", "--config", str(config), "--target", "1.8"],
    ):
        assert main(args) in (0, 1), args  # 1: config check found something that breaks
        captured = capsys.readouterr()
        assert f"{user}:3: nested more than 64 levels deep" in captured.err, args
        assert "only the bundled one is used: fix the file or remove it" in captured.err
        assert captured.out  # the command did its work with the bundled catalogue
    catalogue = load_catalogue()
    assert catalogue.sources == (catalogue.sources[0],) and catalogue.problems


def test_a_catalogue_given_on_the_command_line_is_an_error_with_file_and_line(capsys, tmp_path):
    bad = _nested_catalogue(tmp_path / "extra.yaml")
    assert main(["path", "--from", "1.7", "--catalogue", str(bad)]) == 2
    assert f"{bad}:3: nested more than 64 levels deep" in capsys.readouterr().err


def test_a_binary_catalogue_names_the_file_and_what_to_do(capsys, tmp_path, isolated_home):
    binary = tmp_path / "releases.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    assert main(["releases", "--catalogue", str(binary)]) == 2
    err = capsys.readouterr().err
    assert f"{binary}:2: not a text file (not UTF-8): byte 0x80 at line 2" in err
    assert "must be UTF-8 text: check that this is the right file" in err
    (isolated_home / "releases.yaml").write_bytes(binary.read_bytes())
    assert main(["releases"]) == 0  # the user's own one is left out with a warning
    assert f"{isolated_home / 'releases.yaml'}:2: not a text file" in capsys.readouterr().err


def test_a_catalogue_alias_bomb_is_refused_with_file_and_line(tmp_path, isolated_home):
    bomb = tmp_path / "releases.yaml"
    lines = [
        *_alias_bomb(9),
        'lines:\n  - line: "3.0"\n    summary: *a8\n    releases:\n      - {version: 3.0.0}',
    ]
    bomb.write_text("\n".join(lines) + "\n")
    result = _run_limited(["releases", "--catalogue", str(bomb)], isolated_home)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{bomb}:6: more than 100000 values once aliases are expanded" in result.stderr
    assert _peak_rss_mib(result.stderr) < 150


@pytest.mark.parametrize(
    ("entry", "line", "reason"),
    [
        (f'  - line: "{"1" * 5000}.0"\n    releases: []\n', 2, "'line' must be MAJOR.MINOR"),
        ('  - line: "3.0"\n    releases: [{version: 3.0.0, date: ' + "2" * 5000 + "}]\n", 3, ""),
        ('  - line: "3.0"\n    releases: 5\n', 2, "'releases' must be a list of releases"),
        ('  - line: "3.0"\n    releases: [3.0.0]\n', 2, "each entry of 'releases' must be"),
        ('  - line: "3.0"\n    config: 7\n', 2, "'config' must be a list of changes"),
    ],
)
def test_every_catalogue_error_names_the_file_and_line(tmp_path, entry, line, reason):
    bad = tmp_path / "extra.yaml"
    bad.write_text("lines:\n" + entry)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(bad)
    assert str(caught.value).startswith(f"{bad}:{line}: ")
    assert reason in str(caught.value) and len(str(caught.value)) < len(str(bad)) + 200


# -- guides ----------------------------------------------------------------------------


def _rendered_in(seconds: float, text: str):
    """The rendering of `text`, which must take less than `seconds` of CPU time (the work
    done, whatever else the machine runs)."""
    started = time.thread_time()
    rendered = render_markdown(text)
    assert time.thread_time() - started < seconds
    return rendered


def test_deeply_nested_list_markers_render_as_plain_text_with_a_warning():
    rendered = _rendered_in(2, "- " * 10_000 + "step")
    assert rendered.warning == (
        "This guide is shown as plain text: line 1: lists, quotes or indents nested 33 deep "
        "(more than 32)."
    )
    assert rendered.html.startswith('<div class="admonition warning">')
    assert "<pre>- - - " in rendered.html and rendered.html.endswith("step</pre>")


def test_fifty_thousand_asterisks_render_as_plain_text_with_a_warning():
    rendered = _rendered_in(2, "**" * 12_500 + "bold" + "**" * 12_500)
    assert "a run of 25000 emphasis marks (more than 64)" in rendered.warning
    nested = _rendered_in(5, "***a " * 600 + "x" + " a***" * 600)  # short runs, deep nesting
    assert "shown as plain text" in nested.warning


def test_ten_thousand_nested_brackets_render_at_once_as_plain_text():
    for text in ("[" * 10_000 + "]" * 10_000, "see " + "[a](" * 30_000):
        rendered = _rendered_in(2, text)
        assert "thousands of unclosed or nested brackets" in rendered.warning


def test_a_rule_of_stars_and_ordinary_emphasis_render_normally():
    rendered = render_markdown("Intro\n\n" + "*" * 80 + "\n\nSome ***very*** _plain_ text.\n")
    assert rendered.warning == "" and "<hr" in rendered.html and "<em>plain</em>" in rendered.html


def test_a_guide_over_2_mib_is_refused_with_its_size(tmp_path):
    big = tmp_path / "v1.7-to-v1.8.md"
    big.write_text("# Migration Guide: v1.7 to v1.8\n\n" + "Plain words. " * 250_000)
    started = time.thread_time()
    guide = load_guide(big)
    rendered = render_guide(guide)
    assert time.thread_time() - started < 1
    reason = "guide too large: 3.1 MiB, limit 2 MiB (split it into one guide per hop)"
    assert [str(f) for f in guide.findings] == [f"{big}:1: error: {reason}"]
    assert rendered.warning == f"This guide is not shown: {reason}."
    assert guide.text == "" and guide.steps == ()


def test_rendering_stops_at_its_deadline_and_shows_plain_text():
    text = "*a" * 100_000  # many inline matches in one paragraph: slow, but nothing nested
    started = time.thread_time()
    rendered = render_markdown(text, seconds=0.3)
    assert time.thread_time() - started < 1.5  # the budget is CPU time of this thread
    assert rendered.warning == (
        "This guide is shown as plain text: rendering took longer than 0.3 s."
    )


def _normal_guide(sections: int) -> str:
    part = (
        "## Section {n}\n\nRun `themis-desktop status` on node {n}; see [the docs](#top).\n\n"
        "| key | value |\n|---|---|\n| storage.x_{n} | {n} |\n\n"
        "```bash\nsystemctl restart themisdb  # {n}\n```\n\n- [ ] Check node {n}\n\n"
    )
    return "# Top\n\n" + "".join(part.format(n=n) for n in range(sections))


def test_rendering_time_grows_linearly_with_the_guide():
    small, large = _normal_guide(250), _normal_guide(4000)  # about 50 KiB and 800 KiB

    def cpu(text: str, runs: int) -> float:
        best = float("inf")
        for _ in range(runs):
            started = time.process_time()
            rendered = render_guide(parse_guide(text))
            best = min(best, time.process_time() - started)
            assert "plain text" not in rendered.html
        return best

    # 16 times the size: linear is 16 times the time; the quadratic steps made it 25-30
    assert cpu(large, 2) < 23 * cpu(small, 3)


@pytest.mark.parametrize(
    "text",
    [
        "# x" + " " * 200_000 + "y\n",  # a heading regex backtracking over spaces
        "Links: " + "](#" * 300_000 + "\n",  # a link regex running to the end of the line
        "## Step-by-Step Migration\n### Upgrade Steps\n- x" + " " * 200_000 + "y\n",
        "## Step-by-Step Migration\n### Upgrade Steps\n" + "- [ ] Same step\n" * 50_000,
        "# a\n" * 20_000 + "See [a](#a_19999).\n",  # equal headings, each anchor unique
    ],
)
def test_validation_stays_fast_on_hostile_lines(text):
    started = time.thread_time()
    guide = parse_guide(text)
    assert time.thread_time() - started < 3
    assert all(f.severity in ("error", "warning") for f in guide.findings)


def test_a_runaway_guide_lists_at_most_500_findings():
    guide = parse_guide("# Notes\n\n" + "```\nx\n```\n" * 2000 + "[broken](#nowhere)\n")
    assert len(guide.findings) == 500
    last = guide.findings[-1]
    assert last.severity == "error"  # the link error is among those not listed
    count, text = last.message.split(" ", 1)
    assert int(count) > 1500
    assert text == "more findings from here on, not listed: fix the ones above first"


def test_equal_headings_get_the_anchors_python_markdown_gives_them():
    guide = parse_guide("# a\n\n# a\n\n# a_1\n\n# a\n\nSee [x](#a_3) and [y](#a_2).\n")
    assert not [f for f in guide.findings if "link to" in f.message]
    anchors = [entry.anchor for entry in render_markdown(guide.text).toc]
    assert anchors == ["a", "a_1", "a_2", "a_3"]


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("from: " + "[" * 5000 + "]" * 5000, "front matter is refused: nested more than 16"),
        ("from: " + "9" * 5000, "front matter is refused: a number with 5000 digits"),
        ("\n".join(_alias_bomb(9)), "front matter is refused: more than 10000 values"),
    ],
)
def test_a_hostile_front_matter_is_a_finding_not_a_crash(front, message):
    started = time.thread_time()
    guide = parse_guide(f"---\n{front}\n---\n# Migration Guide: v1.7 to v1.8\n")
    assert time.thread_time() - started < 3
    assert any(f.line == 1 and message in f.message for f in guide.findings), guide.findings


def test_guide_render_on_the_command_line_warns_when_it_shows_plain_text(capsys, tmp_path):
    guide = tmp_path / "nested.md"
    guide.write_text("# Notes\n\n" + "> " * 5000 + "deep\n")
    out = tmp_path / "nested.html"
    assert main(["guide", "render", str(guide), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{guide}: This guide is shown as plain text: line 3:" in err
    assert "&gt; &gt; &gt;" in out.read_text()


def test_the_backup_reads_a_hostile_node_config_without_crashing(tmp_path):
    from themis_desktop.core.backup.node import vector_index_dir

    config = tmp_path / "node.yaml"
    config.write_text("vector_index: " + "[" * 5000 + "]" * 5000 + "\n")
    assert vector_index_dir(config) is None  # unreadable: no vector index to leave out
    config.write_text("vector_index:\n  save_path: vectors\n")
    assert vector_index_dir(config) == tmp_path / "vectors"
