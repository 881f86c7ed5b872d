"""`themis-desktop guide` on a folder in upstream's style: a README or index is no guide,
and choice steps list their alternatives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from themis_desktop.cli import main

FOLDER = Path(__file__).parents[1] / "core" / "upstream_style"


def test_validating_a_readme_or_index_says_it_is_not_a_guide(capsys, tmp_path):
    for name in ("README.md", "index.md"):
        assert main(["guide", "validate", str(FOLDER / name)]) == 0
        out, err = capsys.readouterr()
        assert out == ""  # no "missing section" findings
        assert f"{FOLDER / name}: not a migration guide (a README or index without front" in err
        assert "0 guide(s), 0 error(s), 0 warning(s)" in err
    for name in ("index.md", "v1.3-to-v1.4.md"):
        shutil.copy(FOLDER / name, tmp_path / name)
    assert main(["guide", "validate", str(tmp_path)]) == 0  # as a folder: the index skipped
    out, err = capsys.readouterr()
    assert "index.md" not in out and "1 guide(s), 0 error(s), 1 warning(s)" in err


def test_an_index_with_front_matter_is_validated_as_a_guide(capsys, tmp_path):
    index = tmp_path / "index.md"
    index.write_text('---\nfrom: "1.7"\nto: "1.8"\n---\n# Notes\n')
    assert main(["guide", "validate", str(index)]) == 1
    assert "missing section '## Overview'" in capsys.readouterr().out


def test_steps_list_the_alternatives_of_a_choice(capsys):
    assert main(["guide", "steps", str(FOLDER / "v1.7-to-v1.8.md")]) == 0
    out = capsys.readouterr().out
    assert "Install 1.8 on each node: choose one of A, B, C" in out
    assert "option B: Docker" in out
    assert main(["guide", "steps", str(FOLDER / "v1.7-to-v1.8.md"), "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    assert len(steps) == 15
    (choice,) = [s for s in steps if s["options"]]
    assert [o["key"] for o in choice["options"]] == ["A", "B", "C"]
