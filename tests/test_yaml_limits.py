"""One safe YAML loader for every YAML file (issue 12 item 5): alias bombs, deep nesting, size, recursion, tags."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ecogis.cli import main
from ecogis.errors import RuleError, SchemaError, SpecError
from ecogis.render.spec import load_spec
from ecogis.rules.yamlio import MAX_YAML_BYTES, MAX_YAML_DEPTH, read_yaml

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "maps" / "xilinhot" / "redline.yaml"


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _spec_with(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(extra + SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    return p


def test_an_alias_bomb_in_a_map_spec_ends_fast_with_a_named_error(tmp_path):
    spec = _spec_with(tmp_path, _bomb() + "x_bomb: *a8\n")
    t = time.perf_counter()
    with pytest.raises(SpecError, match="aliases expand") as exc:
        load_spec(spec)
    assert time.perf_counter() - t < 5
    assert str(spec) in str(exc.value) and exc.value.where.startswith("line ")


def test_the_cli_refuses_a_bomb_spec_with_exit_2(tmp_path, capsys):
    spec = _spec_with(tmp_path, _bomb() + "x_bomb: *a8\n")
    ws = REPO / "layers" / "sample" / "xilinhot.gpkg"
    t = time.perf_counter()
    assert main(["map", str(spec), "-w", str(ws), "--out", str(tmp_path / "m.html")]) == 2
    assert time.perf_counter() - t < 10
    err = capsys.readouterr().err
    assert "spec.yaml" in err and "aliases expand" in err
    assert not (tmp_path / "m.html").exists()


@pytest.mark.parametrize("error, what", [(RuleError, "rule file"), (SpecError, "map spec"),
                                         (SchemaError, "layer schema")])
def test_every_limit_names_the_file_and_line(tmp_path, error, what):
    deep = tmp_path / "deep.yaml"
    deep.write_text("x: " + "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5) + "\n", encoding="utf-8")
    with pytest.raises(error, match="nesting is deeper") as exc:
        read_yaml(deep, error=error, what=what)
    assert exc.value.path == str(deep) and exc.value.where == "line 1"
    rec = tmp_path / "recursive.yaml"
    rec.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(error, match="recursive"):
        read_yaml(rec, error=error, what=what)
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_YAML_BYTES + 1)
    with pytest.raises(error, match="over the limit"):
        read_yaml(big, error=error, what=what)
    tag = tmp_path / "tag.yaml"
    tag.write_text("x: !!python/object/apply:os.system ['touch PWNED']\n", encoding="utf-8")
    with pytest.raises(error, match="python/object"):
        read_yaml(tag, error=error, what=what)
    assert not Path("PWNED").exists()
    with pytest.raises(error, match="folder"):
        read_yaml(tmp_path, error=error, what=what)


def test_a_deep_document_does_not_blow_the_stack(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(RuleError, match="nesting"):
        read_yaml(deep)


def test_a_bomb_rule_file_is_refused(tmp_path):
    rules = tmp_path / "bomb.yaml"
    rules.write_text(_bomb() + "rules: *a8\n", encoding="utf-8")
    from ecogis.rules import load_rules

    with pytest.raises(RuleError, match="aliases expand"):
        load_rules([rules])


def test_no_yaml_is_read_outside_the_one_loader():
    """Static guard: yaml.safe_load / yaml.load appear nowhere in the package but the one loader
    (ecogis/rules/yamlio.py and the parser it imports on first use, ecogis/rules/yamlparse.py)."""
    offenders = []
    for p in (REPO / "ecogis").rglob("*.py"):
        if p.name in ("yamlio.py", "yamlparse.py"):
            continue
        text = p.read_text(encoding="utf-8")
        for pat in ("yaml.safe_load", "yaml.load(", "yaml.full_load", "yaml.unsafe_load", "yaml.Loader"):
            if pat in text:
                offenders.append(f"{p.relative_to(REPO)}: {pat}")
    assert offenders == []
