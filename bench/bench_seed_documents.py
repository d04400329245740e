"""Answer quality on web-page-like uploads: news with site chrome, Traditional + pinyin, reposts
with preambles and paywall lines, GBK mojibake, a duplicate under a new title.

Loads the documents of ``tests/data/seed`` into a data folder (pass a copy of a warm one so the
bundled laws are not embedded again), asks the questions of ``questions.jsonl`` and prints:
the share of questions whose first citation is the right document with an excerpt containing
the answer, and every excerpt that shows boilerplate, pinyin, Traditional characters or debris.

    python bench/bench_seed_documents.py --data-dir /tmp/copy-of-warm-data
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.knowledge_base import KnowledgeBase  # noqa: E402
from knowledge.config import Settings  # noqa: E402
from knowledge.db import make_engine, migrate, session_factory  # noqa: E402
from knowledge.readers import IngestError  # noqa: E402
from knowledge.textnorm import normalize, to_simplified  # noqa: E402

SEED = ROOT / "tests" / "data" / "seed"
DUPLICATE = "repost_yuetan_copy.html"
# Words that only the site chrome of the seed pages contains.
CHROME = ("一审", "二审", "责任编辑", "访问量", "訪問量", "来源：", "來源：", "概要描述", "小编", "供大家参考",
          "隐藏内容", "E-MAIL", "TEL", "微信公众号", "岳阳要闻 综合新闻", "Party field", "黨群園地", "首页",
          "长者模式", "版权所有", "ICP", "索引号", "打印本页", "打印本頁", "关闭窗口", "關閉窗口", "分享到",
          "浏览次数", "瀏覽次數", "字体：", "字號：", "繁體", "网站标识码", "網站標識碼", "公网安备")
PINYIN = re.compile(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, _env_file=None)
    settings.ensure_dirs()
    engine = make_engine(settings.db_url)
    migrate(engine)
    kb = KnowledgeBase(settings, session_factory(engine))
    kb.open()

    titles: dict[str, str] = {}
    for path in sorted(SEED.glob("*")):
        if path.suffix not in (".txt", ".html") or path.name == DUPLICATE:
            continue
        report = kb.ingest(path, "bench")
        titles[path.name] = report.title
        print(f"{path.name} → 《{report.title}》 {report.outcome}, {report.passages} passages; "
              f"{report.cleaning_summary() or 'nothing removed'}")
        for problem in report.problems:
            print(f"    {problem}")
    try:
        kb.ingest(SEED / DUPLICATE, "bench", title="转载：衡阳约谈排名靠后县市区")
        print("duplicate: LOADED (not detected)")
    except IngestError as exc:
        print(f"duplicate: refused — {exc.message}")

    questions = [json.loads(line) for line in (SEED / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    right = contains = 0
    by_source: dict[str, list[int]] = {}
    dirty: list[str] = []
    for q in questions:
        answer = kb.answer(q["question"])
        top = answer.citations[0] if answer.citations else None
        expected = titles[q["source"]]
        hit_doc = top is not None and top.document == expected
        hit_text = top is not None and normalize(q["answer"]) in normalize(top.excerpt)
        right += hit_doc and hit_text
        contains += hit_text
        tally = by_source.setdefault(q["source"], [0, 0])
        tally[0] += hit_doc and hit_text
        tally[1] += 1
        for c in answer.citations:
            problems = [w for w in CHROME if w in c.excerpt]
            if PINYIN.search(c.excerpt):
                problems.append("pinyin")
            if to_simplified(c.excerpt) != c.excerpt:
                problems.append("traditional")
            if "?" in c.excerpt or "\ufffd" in c.excerpt:
                problems.append("debris")
            if problems:
                dirty.append(f"{q['question']} / 《{c.document}》: {problems}: {c.excerpt[:60]}")
        mark = "✓" if hit_doc and hit_text else "✗"
        if args.verbose or not (hit_doc and hit_text):
            print(f"{mark} {q['question']}\n    top: 《{top.document if top else '-'}》 {top.excerpt if top else ''}")
    n = len(questions)
    print(f"documents: {len(titles)} (+1 duplicate), questions: {n}")
    print(f"right passage first with the answer in its excerpt: {right}/{n} = {right / n:.1%}")
    for source, (ok, total) in sorted(by_source.items()):
        print(f"    {source}: {ok}/{total}")
    print(f"first excerpt contains the answer: {contains}/{n} = {contains / n:.1%}")
    print(f"excerpts with boilerplate/pinyin/Traditional/debris: {len(dirty)}")
    for line in dirty:
        print(f"    {line}")


if __name__ == "__main__":
    main()
