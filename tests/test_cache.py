"""The on-disk cache of checked rule files (ecogis.cache): never stale, never code, never required."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecogis import cache
from ecogis.errors import RuleError
from ecogis.rules import load_rules
from ecogis.rules import load as rules_load
from ecogis.settings import settings

NATIONAL = Path(settings.rules_dir) / "national"


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setattr(settings, "cache_dir", d)
    monkeypatch.setattr(settings, "cache", True)
    rules_load._LOADED.clear()
    yield d
    rules_load._LOADED.clear()


def _one_file(tmp_path: Path) -> Path:
    src = sorted(NATIONAL.glob("*.yaml"))[0]
    dst = tmp_path / "rules" / src.name
    dst.parent.mkdir()
    shutil.copy(src, dst)
    return dst


def test_second_load_reads_the_cache_and_gives_the_same_rules(cache_dir, tmp_path):
    f = _one_file(tmp_path)
    first = load_rules(f, check_cases=False)
    entries = list((cache_dir / "rules").glob("*.json"))
    assert len(entries) == 1
    assert (cache_dir / "rules").stat().st_mode & 0o077 == 0  # only the user can read it
    rules_load._LOADED.clear()
    second = load_rules(f, check_cases=False)
    assert [r.id for r in first] == [r.id for r in second]
    assert [r.message_zh for r in first] == [r.message_zh for r in second]
    assert [r.applies for r in first] == [r.applies for r in second]
    assert first.files[0].sha256 == second.files[0].sha256


def test_an_edited_file_is_parsed_and_validated_again(cache_dir, tmp_path):
    f = _one_file(tmp_path)
    load_rules(f, check_cases=False)
    rules_load._LOADED.clear()
    text = f.read_text(encoding="utf-8")
    f.write_text(text.replace("severity: prohibited", "severity: forbidden", 1), encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_rules(f, check_cases=False)
    assert "severity" in str(err.value)


def test_a_corrupt_or_hostile_entry_is_ignored(cache_dir, tmp_path):
    f = _one_file(tmp_path)
    good = load_rules(f, check_cases=False)
    entry, = (cache_dir / "rules").glob("*.json")
    entry.write_bytes(b"\x80not json {")  # broken: read again from the YAML
    rules_load._LOADED.clear()
    assert [r.id for r in load_rules(f, check_cases=False)] == [r.id for r in good]
    # a pickle-looking entry is only bytes that are not JSON: nothing runs
    entry.write_bytes(b"cos\nsystem\n(S'touch /tmp/ecogis-pwned'\ntR.")
    rules_load._LOADED.clear()
    assert [r.id for r in load_rules(f, check_cases=False)] == [r.id for r in good]
    assert not Path("/tmp/ecogis-pwned").exists()


def test_cache_off_or_unwritable_changes_nothing(cache_dir, tmp_path, monkeypatch):
    f = _one_file(tmp_path)
    monkeypatch.setattr(settings, "cache", False)
    ids = [r.id for r in load_rules(f, check_cases=False)]
    assert not cache_dir.exists()
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setattr(settings, "cache", True)
    monkeypatch.setattr(settings, "cache_dir", blocker / "sub")
    rules_load._LOADED.clear()
    assert [r.id for r in load_rules(f, check_cases=False)] == ids


def test_only_json_safe_values_are_stored(cache_dir):
    assert cache.json_safe({"a": [1, 2.5, None, True, "x"]})
    assert not cache.json_safe({1: "int key"})
    assert not cache.json_safe({"a": (1, 2)})
    k = cache.key("x")
    assert cache.put("t", k, {"a": 1}) and cache.get("t", k) == {"a": 1}
    assert json.loads((cache_dir / "t" / f"{k}.json").read_text()) == {"a": 1}
    assert cache.get("t", cache.key("y")) is None
