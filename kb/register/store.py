"""The register file: the one place that finds, builds, saves and loads the obligations register of an index.

`kb index` extracts the register as documents stream past (:class:`RegisterSink`) and saves it in the new
generation as ``obligations.json``; every reader gets it through :func:`register_for`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from indexing.config import Settings
from indexing.manifest import repeal_status
from indexing.types import Document, Obligation, Section, Target
from kb.quiz.facts_law import LawFact, extract_law_facts, law_fact_from_dict, paragraph_lead_ins
from kb.register.conflicts import Conflict, find_conflicts
from kb.register.domains import domain_of
from kb.register.extract import extract_obligations
from kb.register.tables import IndicatorRow, parse_indicator_tables

# 2: law_facts and doc_status (quiz material); 3: also "YYYY年前" read as the end of YYYY; 4: a law fact inside a
# paragraph carries the sentences before it; 5: so does a law record (lead_ins). A stored register of another
# version is rebuilt from the corpus.
REGISTER_VERSION = 5
REGISTER_FILE = "obligations.json"
# Catalogues (manifest kind "list") state no duties, and their PDFs take most of the corpus loading time
# (≈15 of 17 s on a busy machine): a register built without an index skips them and comes several times faster.
CATALOGUE_KINDS = ("list",)
_UNREADABLE = (OSError, ValueError, KeyError, TypeError)


@dataclass
class Register:
    """All records, indicator rows and conflicts of a corpus, in corpus order."""

    records: list[Obligation]
    indicators: list[IndicatorRow] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    doc_order: list[str] = field(default_factory=list)  # doc ids in corpus order
    built_at: str = ""
    version: int = REGISTER_VERSION
    law_facts: list[LawFact] = field(default_factory=list)  # quizzable penalties, periods, bans, permits
    doc_status: dict[str, str] = field(default_factory=dict)  # doc_id -> "2022-06-05废止" for repealed ones
    # ob_id -> (start, text) of what precedes a law record inside its paragraph (quiz material: the record's
    # sentence may lean on it, "原审批部门应当…")
    lead_ins: dict[str, tuple[int, str]] = field(default_factory=dict)


class RegisterBuilder:
    """Gathers records and indicator rows document by document, so a corpus can stream past."""

    def __init__(self) -> None:
        self.records: list[Obligation] = []
        self.rows: list[IndicatorRow] = []
        self.order: list[str] = []
        self.law_facts: list[LawFact] = []
        self.status: dict[str, str] = {}
        self.lead_ins: dict[str, tuple[int, str]] = {}

    def add(self, doc: Document, sections: list[Section]) -> None:
        """Extract one document's records (and, for the plan, its indicator rows)."""
        self.order.append(doc.doc_id)
        records = extract_obligations(doc, sections)
        self.records.extend(records)
        if doc.kind in ("law", "regulation"):
            self.lead_ins.update(paragraph_lead_ins(doc, records))
        if doc.kind == "plan":
            self.rows.extend(parse_indicator_tables(doc, sections))
        self.law_facts.extend(extract_law_facts(doc, sections, lambda path: domain_of(doc, path)))
        status = repeal_status(doc.meta.get("dates", ""))
        if status:
            self.status[doc.doc_id] = status

    def register(self) -> Register:
        """The register of everything added, with the targets checked for conflicts."""
        return Register(records=self.records, indicators=self.rows, conflicts=find_conflicts(self.records),
                        doc_order=self.order, built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        law_facts=self.law_facts, doc_status=self.status, lead_ins=self.lead_ins)


def build_register(docs_with_sections: Iterable[tuple[Document, list[Section]]]) -> Register:
    """Extract every document's records and indicator rows and check the targets for conflicts."""
    builder = RegisterBuilder()
    for doc, sections in docs_with_sections:
        builder.add(doc, sections)
    return builder.register()


def obligation_to_dict(r: Obligation) -> dict:
    """Plain JSON-ready dict of a record (the target nested, or None)."""
    return asdict(r)


def obligation_from_dict(d: dict) -> Obligation:
    """Inverse of :func:`obligation_to_dict` (unknown keys are ignored)."""
    names = {f.name for f in fields(Obligation)}
    data = {k: v for k, v in d.items() if k in names}
    if data.get("target"):
        tnames = {f.name for f in fields(Target)}
        data["target"] = Target(**{k: v for k, v in data["target"].items() if k in tnames})
    return Obligation(**data)


def save_register(register: Register, path: str | Path) -> None:
    """Write the register as UTF-8 JSON (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": register.version,
        "built_at": register.built_at,
        "doc_order": register.doc_order,
        "records": [obligation_to_dict(r) for r in register.records],
        "indicators": [asdict(r) for r in register.indicators],
        "conflicts": [{"indicator": c.indicator, "first": c.first.ob_id, "first_value": c.first_value,
                       "second": c.second.ob_id, "second_value": c.second_value} for c in register.conflicts],
        "law_facts": [asdict(f) for f in register.law_facts],
        "doc_status": register.doc_status,
        "lead_ins": register.lead_ins,
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def load_register(path: str | Path) -> Register:
    """Read a register written by :func:`save_register`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    records = [obligation_from_dict(d) for d in data.get("records", [])]
    by_id = {r.ob_id: r for r in records}
    rnames = {f.name for f in fields(IndicatorRow)}
    rows = [IndicatorRow(**{k: v for k, v in d.items() if k in rnames}) for d in data.get("indicators", [])]
    conflicts = [
        Conflict(indicator=c["indicator"], first=by_id[c["first"]], first_value=c["first_value"],
                 second=by_id[c["second"]], second_value=c["second_value"])
        for c in data.get("conflicts", []) if c["first"] in by_id and c["second"] in by_id
    ]
    return Register(records=records, indicators=rows, conflicts=conflicts, doc_order=data.get("doc_order", []),
                    built_at=data.get("built_at", ""), version=data.get("version", 1),
                    law_facts=[law_fact_from_dict(d) for d in data.get("law_facts", [])],
                    doc_status=data.get("doc_status", {}),
                    lead_ins={k: (int(v[0]), str(v[1])) for k, v in data.get("lead_ins", {}).items()})



class RegisterSink:
    """Index-time step: extract the register as documents stream past, save it in the new generation."""

    def __init__(self) -> None:
        self.builder = RegisterBuilder()
        self.version = f"register-{REGISTER_VERSION}"  # a new register format makes `kb index` rebuild

    def add(self, doc: Document, sections: list[Section]) -> None:
        """Extract one document's obligations."""
        self.builder.add(doc, sections)

    def finish(self, gen_dir: Path) -> None:
        """Write obligations.json into the new generation."""
        save_register(self.builder.register(), gen_dir / REGISTER_FILE)


def _to_stderr(message: str) -> None:
    """Print a notice on stderr (the CLI's default for :func:`register_for`)."""
    print(message, file=sys.stderr)


def _stored_path(settings: Settings) -> Path:
    """The register file of the live generation, else the one at the top of the index folder."""
    index_dir = Path(settings.index_dir)
    if index_dir.is_dir():
        from indexing.store import live_generation

        gen = live_generation(settings)
        if gen is not None and (gen / REGISTER_FILE).exists():
            return gen / REGISTER_FILE
    return index_dir / REGISTER_FILE


def duty_corpus(settings: Settings, warnings: list[str]) -> list[tuple[Document, list[Section]]]:
    """Every corpus document that can state duties (catalogues skipped), with its sections; unreadable ones warn."""
    from indexing.build import iter_corpus_sections

    return list(iter_corpus_sections(settings, warnings, skip_kinds=CATALOGUE_KINDS))


def register_for(settings: Settings, gen_dir: Path | None = None,
                 warn: Callable[[str], None] | None = None) -> Register:
    """The register of an index: the file in ``gen_dir`` (default: the live generation), else built from the corpus.

    With ``gen_dir`` (the open generation of a service) an unreadable file is rebuilt from every corpus document, as
    `kb index` extracts it; without (the CLI, perhaps with no index at all) an unreadable file raises, and a rebuild
    skips the catalogues (:data:`CATALOGUE_KINDS`). A file of another :data:`REGISTER_VERSION` is rebuilt.
    """
    warn = warn or _to_stderr
    path = gen_dir / REGISTER_FILE if gen_dir is not None else _stored_path(settings)
    register = None
    if gen_dir is not None or path.exists():
        try:
            register = load_register(path)
        except _UNREADABLE as e:
            if gen_dir is None:
                raise
            warn(f"义务清单文件无法读取（{type(e).__name__}），改为从语料重新提取。")
        if register is not None and register.version != REGISTER_VERSION:
            warn("索引中的义务清单版本较旧，本次直接从语料重新生成；运行 kb index 可更新索引，免去每次的提取。")
            register = None
    else:
        warn(f"未找到已建立的索引（{path}），直接从语料目录 {settings.corpus_dir} 生成义务清单（无需向量模型）。")
    if register is not None:
        return register
    if gen_dir is not None:
        from indexing.build import iter_corpus_sections

        return build_register(iter_corpus_sections(settings, []))
    warnings: list[str] = []
    register = build_register(duty_corpus(settings, warnings))
    for w in warnings:
        warn(f"警告：{w}")
    return register
