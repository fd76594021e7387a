"""Exit codes that do not lie (issue 12 item 6): 0 ok, 1 only --fail-on, 2 bad input (named), 3 internal error.

Every numeric option of every subcommand is walked with 0, negative and
non-number values; every numeric ``ECOGIS_*`` variable likewise; output paths
that are files or under files, a spec that is a folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecogis.cli import build_parser, main
from ecogis.settings import Settings, SettingsError, settings

REPO = Path(__file__).resolve().parent.parent
WS = REPO / "layers" / "sample" / "xilinhot.gpkg"
SPEC = REPO / "maps" / "xilinhot" / "redline.yaml"


def _subparsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every (command words, parser) of the ``ecogis`` command, nested ones included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sp in action.choices.items():
                yield prefix + (name,), sp
                yield from _subparsers(sp, prefix + (name,))


def _required(sp: argparse.ArgumentParser) -> list[str]:
    args: list[str] = []
    for a in sp._actions:
        if isinstance(a, argparse._SubParsersAction):
            continue
        if not a.option_strings:
            args.append("x")
        elif a.required:
            args += [a.option_strings[0], "1,1" if a.dest == "start" else "x"]
    return args


def _numeric_options():
    out = []
    for words, sp in _subparsers(build_parser()):
        for a in sp._actions:
            if a.option_strings and a.type is not None and getattr(a.type, "__name__", "") in (
                    "int", "float", "whole number", "number"):
                out.append((words, sp, a))
    return out


NUMERIC = _numeric_options()


def test_the_walk_finds_the_numeric_options():
    names = {(w[-1], a.option_strings[0]) for w, _, a in NUMERIC}
    assert {("clues", "--block"), ("screen", "--threads"), ("map", "--dpi"), ("patrol", "--days"),
            ("patrol", "--speed-kmh"), ("convert", "--zone"), ("screen", "--workers")} <= names
    assert len(NUMERIC) >= 14
    bare = [(w, a.option_strings[0]) for w, _, a in NUMERIC if a.type in (int, float)]
    assert bare == []  # every numeric option has a checked range


@pytest.mark.parametrize("value", ["abc", "", "nan", "inf", "-inf", "1e999", "0x10", "1,5"])
@pytest.mark.parametrize("words, sp, action", NUMERIC, ids=[f"{' '.join(w)} {a.option_strings[0]}"
                                                            for w, _, a in NUMERIC])
def test_a_non_number_is_refused_naming_the_option(words, sp, action, value, capsys):
    argv = [*words, *_required(sp), action.option_strings[0], value]
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {action.option_strings[0]}" in err or action.option_strings[0] in err


@pytest.mark.parametrize("value", ["0", "-1", "-4", "-0.5"])
@pytest.mark.parametrize("words, sp, action", NUMERIC, ids=[f"{' '.join(w)} {a.option_strings[0]}"
                                                            for w, _, a in NUMERIC])
def test_zero_and_negative_values_are_refused_or_documented(words, sp, action, value, capsys):
    """0 or a negative number either fails with exit 2 naming the option, or the help says what it means."""
    argv = [*words, *_required(sp), action.option_strings[0], value]
    try:
        ns = build_parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2
        err = capsys.readouterr().err
        assert f"argument {action.option_strings[0]}" in err
        assert "out of range" in err or "not a whole number" in err
        return
    accepted = getattr(ns, action.dest)
    # accepted: 0 of a count that documents it (threads: every core), or a quantity that may be 0 / negative
    allowed_zero = {"--threads", "--min-area-ha", "--visit-minutes", "--mine-within-m", "--max-after"}
    allowed_negative = {"--max-after"}  # an NDVI value, -1 to 1
    opt = action.option_strings[0]
    if float(value) == 0:
        assert opt in allowed_zero, f"{' '.join(words)} {opt} accepts 0"
        if opt == "--threads":
            assert "0 every core" in (action.help or "")
    else:
        assert opt in allowed_negative, f"{' '.join(words)} {opt} accepts {value}"
        assert -1 <= accepted <= 1


def test_threads_zero_means_every_core_and_negative_is_refused_in_the_api():
    from ecogis.parallel import thread_count

    assert thread_count(0) == (os.cpu_count() or 1)
    with pytest.raises(SettingsError, match="threads"):
        thread_count(-2)


# ------------------------------------------------------------------ ECOGIS_* variables and the settings object
_NUMERIC_SETTINGS = ["max_file_mb", "max_archive_mb", "max_archive_members", "max_vertices", "threads"]


@pytest.mark.parametrize("name", _NUMERIC_SETTINGS)
@pytest.mark.parametrize("raw", ["abc", "-4", "1.5", "nan", ""])
def test_a_bad_ecogis_variable_is_named(monkeypatch, name, raw):
    monkeypatch.setenv(f"ECOGIS_{name.upper()}", raw)
    s = Settings()  # importing ecogis never breaks on a bad variable ...
    with pytest.raises(SettingsError, match=f"ECOGIS_{name.upper()}"):
        getattr(s, name)  # ... the setting names it when used
    with pytest.raises(SettingsError, match=f"ECOGIS_{name.upper()}"):
        s.check_env()


def test_negative_is_refused_for_limits_and_zero_means_every_core_for_threads(monkeypatch):
    monkeypatch.setenv("ECOGIS_MAX_FILE_MB", "-1")
    with pytest.raises(SettingsError, match="ECOGIS_MAX_FILE_MB='-1' is out of range"):
        Settings().check_env()
    monkeypatch.setenv("ECOGIS_MAX_FILE_MB", "0")  # a limit of 0 is strict, not invalid: every file is refused
    assert Settings().max_file_mb == 0
    monkeypatch.setenv("ECOGIS_THREADS", "0")
    monkeypatch.delenv("ECOGIS_MAX_FILE_MB")
    assert Settings().threads == 0


@pytest.mark.parametrize("var, raw", [("ECOGIS_THREADS", "-4"), ("ECOGIS_THREADS", "lots"),
                                      ("ECOGIS_PROGRESS", "maybe"), ("ECOGIS_LANG", "fr"),
                                      ("ECOGIS_MAX_VERTICES", "-1")])
def test_the_command_exits_2_naming_a_bad_variable(var, raw):
    env = {**os.environ, var: raw, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "ecogis.cli", "layers", "list", "--workspace", str(WS)], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert var in r.stderr and "Traceback" not in r.stderr


def test_the_settings_object_refuses_unknown_names_and_wrong_types():
    with pytest.raises(AttributeError, match="no setting 'max_file_megabytes'"):
        settings.max_file_megabytes = 10
    for name, bad in [("max_file_mb", "10"), ("max_file_mb", 1.5), ("max_file_mb", True), ("max_file_mb", -1),
                      ("threads", -1), ("progress", "yes"), ("lang", "fr"), ("guotu_area_tolerance", 2.0),
                      ("guotu_area_tolerance", float("nan")), ("rules_dir", 3), ("storage_crs", "EPSG:4326")]:
        before = getattr(settings, name)
        with pytest.raises(SettingsError, match=name):
            setattr(settings, name, bad)
        assert getattr(settings, name) == before  # unchanged
    old = settings.max_file_mb
    settings.max_file_mb = 4096
    assert settings.max_file_mb == 4096
    settings.max_file_mb = old
    settings.rules_dir = str(settings.rules_dir)  # a str path becomes a Path
    assert isinstance(settings.rules_dir, Path)


# ------------------------------------------------------------------ paths and statuses
@pytest.fixture()
def afile(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x", encoding="utf-8")
    return f


def _cases(tmp: Path, afile: Path) -> list[tuple[list[str], str]]:
    sub = afile / "sub"
    return [
        (["map", str(SPEC), "-w", str(WS), "--out", str(afile / "x.html")], "--out"),
        (["map", str(SPEC), "-w", str(WS), "--out", str(tmp)], "--out"),
        (["map", str(SPEC), "-w", str(WS), "--print", str(sub / "x.pdf")], "--print"),
        (["map", str(tmp), "-w", str(WS), "--out", str(tmp / "m.html")], "not a map spec"),
        (["screen", str(SPEC), "--workspace", str(WS), "--out", str(afile)], "--out"),
        (["screen", str(SPEC), "--workspace", str(WS), "--out", str(sub)], "--out"),
        (["patrol", "--workspace", str(WS), "--start", "116,44", "--out", str(afile)], "--out"),
        (["demo", "--out", str(sub)], "--out"),
        (["clues", "--before", "a.tif", "--after", "b.tif", "--workspace", str(WS), "--out", str(tmp)], "--out"),
        (["convert", str(SPEC), str(sub / "o.csv")], "OUTPUT"),
    ]


def test_bad_output_paths_and_a_folder_spec_exit_2_naming_them(tmp_path, afile, capsys):
    for argv, named in _cases(tmp_path, afile):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert named in err and "internal error" not in err, (argv, err)


def test_an_internal_error_exits_3_with_a_debug_hint(monkeypatch, capsys):
    import ecogis.cli as cli

    def boom(a):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "_cmd_layers_list", boom)
    assert main(["layers", "list", "--workspace", str(WS)]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "--debug" in err and "kaboom" in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["map", "--dpi", "0", str(SPEC), "-w", str(WS), "--print", "x.pdf"])
    assert exc.value.code == 2
    assert "--dpi" in capsys.readouterr().err


def test_clues_block_zero_exits_2_not_internal(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["clues", "--before", "a", "--after", "b", "--workspace", str(WS), "--out", str(tmp_path / "c.gpkg"),
              "--block", "0"])
    assert exc.value.code == 2 and "--block" in capsys.readouterr().err


def test_the_api_refuses_a_zero_tile_size_by_name():
    from ecogis.errors import InputError
    from ecogis.patrol.clues import detect_clues

    for bad in (0, -5, 1.5, True):
        with pytest.raises(InputError, match="--block"):
            detect_clues("before.tif", "after.tif", str(WS), block=bad)
