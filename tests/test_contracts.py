"""docs/CONTRACTS.md against real output: every documented field, with its JSON type, and nothing undocumented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kb.cli_io import parse_line

CONTRACTS = Path(__file__).resolve().parent.parent / "docs" / "CONTRACTS.md"
JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
              "object": dict, "null": type(None)}


def read_contracts(text: str) -> dict[str, dict[str, tuple[tuple[str, ...], bool]]]:
    """{contract name: {field: (json types, optional)}} from the tables under ``<!-- contract: name -->``."""
    out: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {}
    for m in re.finditer(r"<!-- contract: (\w+) -->\n((?:\|.*\n)+)", text):
        fields = {}
        for row in m.group(2).splitlines()[2:]:
            cells = [c.strip() for c in row.strip("|").split("|")]
            name = re.fullmatch(r"`(\w+)`( \*\(optional\)\*)?", cells[0])
            assert name, f"{m.group(1)}: cannot read the field cell {cells[0]!r}"
            types = tuple(t.strip() for t in cells[1].split(" or "))
            assert set(types) <= set(JSON_TYPES), f"{m.group(1)}.{name.group(1)}: unknown type in {cells[1]!r}"
            fields[name.group(1)] = (types, bool(name.group(2)))
        out[m.group(1)] = fields
    return out


def check(obj: dict, contract: dict[str, tuple[tuple[str, ...], bool]], where: str) -> None:
    """Every key of ``obj`` is documented with its type; every required field is there."""
    undocumented = set(obj) - set(contract)
    assert not undocumented, f"{where}: fields missing from docs/CONTRACTS.md: {sorted(undocumented)}"
    for name, (types, optional) in contract.items():
        if name not in obj:
            assert optional, f"{where}: documented field {name!r} is missing"
            continue
        value = obj[name]
        ok = any(isinstance(value, JSON_TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool))
                 for t in types)
        assert ok, f"{where}.{name}: {type(value).__name__} is not {' or '.join(types)}"


@pytest.fixture(scope="module")
def contracts() -> dict[str, dict[str, tuple[tuple[str, ...], bool]]]:
    """The contracts as documented."""
    found = read_contracts(CONTRACTS.read_text(encoding="utf-8"))
    assert set(found) == {"answer", "citation", "batch_error", "obligation", "target", "quiz_item",
                          "quiz_citation", "document"}
    return found


def test_contract_reader_catches_a_wrong_type_and_an_undocumented_field() -> None:
    """The checker itself can fail: a changed type, a removed field and a new field are all reported."""
    contract = read_contracts("<!-- contract: x -->\n| field | type | meaning |\n| --- | --- | --- |\n"
                              "| `a` | integer | … |\n| `b` *(optional)* | string or null | … |\n")["x"]
    check({"a": 1, "b": None}, contract, "x")
    check({"a": 1}, contract, "x")
    for bad in ({"a": "1"}, {"a": True}, {"b": "s"}, {"a": 1, "c": 2}):
        with pytest.raises(AssertionError):
            check(bad, contract, "x")


def test_answers_and_citations_match_the_contract(contracts, api_kb) -> None:
    answered = api_kb.ask("秸秆收集利用率要在哪年达到多少？").to_dict(id="q1")
    abstained = api_kb.ask("个人所得税的起征点是多少？").to_dict()
    invalid = api_kb.ask("？？？").to_dict(id=3)
    follow_up = api_kb.ask("那乌鲁木齐呢？", history=["克拉玛依市细颗粒物浓度要下降多少？"]).to_dict()
    assert not answered["abstained"] and abstained["abstained"] and invalid["route"] == "invalid"
    assert "resolved_question" in follow_up
    for n, obj in enumerate((answered, abstained, invalid, follow_up, {**answered, "line": 4})):
        json.dumps(obj, allow_nan=False)
        check(obj, contracts["answer"], f"answer {n}")
        for c in obj["citations"]:
            check(c, contracts["citation"], f"answer {n} citation")
    roles = {c["role"] for c in answered["citations"]} | {c["role"] for c in abstained["citations"]}
    assert roles >= {"answer", "nearest"}


def test_obligations_quiz_documents_and_batch_errors_match_the_contract(contracts, api_kb) -> None:
    from kb.register.store import obligation_to_dict

    records = [obligation_to_dict(r) for r in api_kb.obligations()]
    assert any(r["target"] for r in records) and any(r["target"] is None for r in records)
    for r in records:
        check(r, contracts["obligation"], r["ob_id"])
        if r["target"]:
            check(r["target"], contracts["target"], r["ob_id"] + ".target")
    items = [it.to_dict() for it in api_kb.quiz(n=12, seed=5)]
    assert {it["kind"] for it in items} == {"mcq", "blank", "judge"}
    for it in items:
        check(it, contracts["quiz_item"], it["id"])
        check(it["citation"], contracts["quiz_citation"], it["id"] + ".citation")
    for d in api_kb.documents():
        check(d, contracts["document"], d["doc_id"])
    for raw in (b"{bad json", b"[1, 2]", b'{"id": NaN, "q": "x"}', b'{"id": "a", "q": ""}', b'{"id": [1], "q": "x"}'):
        record = parse_line(7, raw).error_record()
        check(record, contracts["batch_error"], raw.decode())
        assert record["line"] == 7 and record["error"].startswith("第 7 行")
