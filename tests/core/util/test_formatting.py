import pytest

from themis_desktop.core.util.formatting import human_bytes, human_count, human_duration


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB")],
)
def test_bytes(value, text):
    assert human_bytes(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(-5, "0 s"), (59, "59 s"), (61, "1 min 1 s"), (3725, "1 h 2 min"), (90061, "1 d 1 h")],
)
def test_durations(value, text):
    assert human_duration(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(12, "12"), (12.5, "12.5"), (1234, "1.23 k"), (1_234_567, "1.23 M")]
)
def test_counts(value, text):
    assert human_count(value) == text
