"""Property-based fuzzing of the 国土TXT reader, the CSV reader and the rule loader (issue 8).

Whatever the bytes, the only exception that may escape is ecogis's own error
class.  Inputs are built from pieces of valid files, so that the fuzzer gets
past the first line and into the parsers.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecogis.errors import EcogisError

REPO = Path(__file__).resolve().parent.parent
from corpus import build as build_corpus  # noqa: E402  (tests/corpus/build.py)

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

_TMP = Path(tempfile.mkdtemp(prefix="ecogis-fuzz-"))

# Pieces a 国土TXT file is made of, with mutations that real files show.
_GUOTU_LINES = build_corpus.GUOTU + build_corpus.HOLE3 + [
    "[扩展信息]", "", "   ", "带号=40", "几度分带=6", "几度分带=x", "带号=", "计量单位=m", "坐标系=1954北京坐标系",
    "转换参数=1,2,3,4,5,6,7", "5,0.54,P2,乙,线,,,,@", "1,0,P3,丙,点,,,,@", "4,,P4,丁,面,,,,@", "J1,1,,", ",,,", "@",
    "J1,1,4862950.000,419700.000", "J1,1,nan,39419700", "J9,9,1e400,-1e400", "J1，1，4862950，39419700",
    "５,０.５,Ｐ,测,面,,,,@", "J1,1,4862950.000,39419700.000,", "J1,1,-4862950,39419700",
]


def _mutate(line: str, cut: int, junk: str) -> str:
    return line[:cut] + junk + line[cut:]


guotu_text = st.lists(
    st.tuples(st.sampled_from(_GUOTU_LINES), st.integers(0, 40), st.sampled_from(["", "", "", ",", "@", "9", ".", "-",
                                                                                   "\t", "中", "\ufeff", "e", "J"])),
    min_size=0, max_size=30,
).map(lambda parts: "\r\n".join(_mutate(line, cut, junk) for line, cut, junk in parts))


@FUZZ
@given(text=guotu_text, encoding=st.sampled_from(["utf-8", "gbk", "utf-8-sig"]), tail=st.binary(max_size=8))
def test_guotu_reader_raises_only_ecogis_errors(text, encoding, tail):
    from ecogis.read.guotu import read_guotu

    path = _TMP / "fuzz.txt"
    path.write_bytes(text.encode(encoding, errors="replace") + tail)
    try:
        gdf = read_guotu(path)
    except EcogisError:
        return
    assert len(gdf) > 0 and gdf.crs is not None


@FUZZ
@given(data=st.binary(max_size=600))
def test_guotu_reader_on_raw_bytes(data):
    from ecogis.read.guotu import read_guotu

    path = _TMP / "raw.txt"
    path.write_bytes(b"[\xe5\xb1\x9e\xe6\x80\xa7\xe6\x8f\x8f\xe8\xbf\xb0]\r\n" + data)
    try:
        read_guotu(path)
    except EcogisError:
        pass


_CSV_HEADERS = ["name,lon,lat", "名称,经度,纬度", "name,wkt", "x,y", "lon;lat;name", "a,b,c", "wkt", "lon,lat,lon"]
_CSV_CELLS = ["116.0", "43.9", "nan", "inf", "-", "", "甲", '"q,uoted"', '"unclosed', "POINT (116 43.9)",
              "POLYGON ((116 43.9, 116.1 43.9, 116 44, 116 43.9))", "POLYGON ((", "1e999", "<script>", "=cmd|'/C calc'!A0"]

csv_text = st.tuples(
    st.sampled_from(_CSV_HEADERS),
    st.lists(st.lists(st.sampled_from(_CSV_CELLS), min_size=0, max_size=5), max_size=8),
    st.sampled_from([",", ";", "\t", "，"]),
).map(lambda t: "\n".join([t[0]] + [t[2].join(row) for row in t[1]]) + "\n")


@FUZZ
@given(text=csv_text, encoding=st.sampled_from(["utf-8", "gbk"]), crs=st.sampled_from([None, "EPSG:4490"]))
def test_csv_reader_raises_only_ecogis_errors(text, encoding, crs):
    from ecogis.read import read_file

    path = _TMP / "fuzz.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    try:
        read_file(path, crs=crs)
    except EcogisError:
        pass


_RULE_LINES = build_corpus._RULE.splitlines()
_RULE_JUNK = ["", "  ", "    colour: red", "    severity: [x]", "    layer: 42", "    test: {within_m: -5}",
              "  - id: CORPUS-RL-01", "rules: null", "    applies: {industry: [Z99]}", "    cases: []",
              "    where: {function: 水源涵养}", "!!python/object:os.system", "&a [1]", "*a", "{{", "- - -", "\t",
              "    message_zh: \"{site_name\"", "    test: intersects", "    next_steps_zh: 7", "    severity: notice"]

rule_text = st.lists(
    st.one_of(st.sampled_from(_RULE_LINES), st.sampled_from(_RULE_JUNK)), min_size=0, max_size=40,
).map("\n".join)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(text=rule_text)
def test_rule_loader_raises_only_ecogis_errors(text):
    from ecogis.rules.load import load_rules

    path = _TMP / "fuzz_rules.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_rules([path])
    except EcogisError:
        pass
