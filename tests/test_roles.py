"""我要遵守什么？: the role vocabulary, at least 10 cited items for every role, readings cut from the text,
and `kb obligations --role`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexing.build import load_corpus
from indexing.config import PACKAGE_CORPUS, Settings
from kb.register.parties import party_views
from kb.register.roles import applies, by_topic, find_role, load_roles, plain_reading, role_items
from kb.register.store import register_for
from kb.web.tabs.roles import role_html

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("个人与居民", "农户与养殖户", "机动车车主", "餐饮与商户", "企业与排污单位", "建设单位", "政府部门")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("roles"), corpus_dir=PACKAGE_CORPUS)
    records = list(register_for(settings).records)  # built from the corpus: no index needed
    return records, party_views(records), load_corpus(settings, [])


def test_role_vocabulary() -> None:
    assert tuple(r.name for r in load_roles()) == ROLES
    assert find_role("机动车车主").action_words and find_role("不存在") is None


def test_plain_readings_are_cut_from_the_text() -> None:
    assert plain_reading("禁止", "任何单位和个人不得擅自拆除防治污染设施") == "不能擅自拆除防治污染设施"
    assert plain_reading("义务", "建设单位应当在开工前编制环境影响报告书") == "要在开工前编制环境影响报告书"
    reading = plain_reading("处罚", "违反本法规定，由生态环境主管部门责令改正，处二万元以上二十万元以下的罚款。")
    assert reading == "违反的后果：责令改正，处二万元以上二十万元以下的罚款"


@pytest.mark.parametrize("name", ROLES)
def test_every_role_has_at_least_ten_cited_items(corpus, name: str) -> None:
    records, views, docs = corpus
    items = role_items(find_role(name), records, views, docs)
    assert len(items) >= 10, (name, len(items))
    for item in items:
        assert item.title and item.text and item.kind in ("禁止", "义务", "处罚")
        assert item.reading.startswith(("不能", "要", "违反的后果："))
        assert not item.title.endswith("规划")  # the plan's tasks are the government's, not a citizen's
        assert item.article, item
    assert len(by_topic(items)) >= 2
    html = role_html(name, items)
    assert html.count("<details") == len(items) and "<script" not in html


def test_government_duties_are_not_a_citizens(corpus) -> None:
    records, views, _ = corpus
    driver = find_role("机动车车主")
    gov = [ob for ob in records if "机动车" in ob.action and views[ob.ob_id].canonical[0] == "各级人民政府"]
    assert gov and not any(applies(driver, ob, views[ob.ob_id]) for ob in gov)


def test_cli_role(tmp_path: Path) -> None:
    env = dict(os.environ, KB_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "kb.cli", "obligations", "--role", "机动车车主", "--format", "json"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["role"] == "机动车车主" and len(data["items"]) >= 10
    assert all(i["article"] and i["title"] for i in data["items"])
    text = subprocess.run([sys.executable, "-m", "kb.cli", "obligations", "--role", "机动车车主"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert "【大气】" in text.stdout and "[禁止] 不能" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "kb.cli", "obligations", "--role", "外星人"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert bad.returncode == 2 and "没有这个角色" in bad.stderr and "机动车车主" in bad.stderr
