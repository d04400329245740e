"""Print the relevance signals behind abstention for answerable and off-topic questions.

Usage: python bench/calibrate_abstention.py QUESTIONS.jsonl
The answerable side is the question file; the off-topic side is the list below (everyday
questions no safety regulation answers). Pick thresholds that keep every answerable question
while rejecting as many off-topic ones as possible.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.runtime import Runtime

OFF_TOPIC = [
    "红烧肉怎么做才好吃？", "今天北京天气怎么样", "股票什么时候买入比较好", "推荐几部好看的电影",
    "怎么学好英语口语", "孩子发烧了怎么办", "iPhone 怎么截屏", "去云南旅游有什么攻略",
    "个人所得税怎么申报退税", "离婚财产怎么分割", "怎样养好一盆绿萝", "世界杯冠军是谁",
    "How do I bake sourdough bread?", "What is the capital of Australia?", "怎么减肥最快",
    "高考志愿怎么填报", "猫咪不吃东西怎么办", "信用卡逾期了会怎样", "如何写一首七言律诗", "火锅底料怎么炒",
    "买房贷款利率是多少", "手机没信号怎么回事", "婚礼流程怎么安排", "普通话二级甲等要求", "咖啡和茶哪个更提神",
]


def signals(kb, question: str) -> tuple[float, bool, bool]:  # type: ignore[no-untyped-def]
    query = kb.analyze(question)
    vector = kb.embedder.encode_queries([query.dense_text])[0]
    return kb._top_dense(vector), query.domain, not kb.answer(question).abstained


def main() -> None:
    kb = Runtime().knowledge
    answerable = [json.loads(l)["question"] for l in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if l.strip()]
    for name, questions in (("answerable", answerable), ("off-topic", OFF_TOPIC)):
        rows = sorted(signals(kb, q) + (q,) for q in questions)
        print(f"== {name} (n={len(rows)}): dense min/median/max = "
              f"{rows[0][0]:.3f}/{rows[len(rows) // 2][0]:.3f}/{rows[-1][0]:.3f}")
        answered = sum(1 for r in rows if r[2])
        print(f"   answered {answered}/{len(rows)}")
        for dense, domain, ok, q in rows[:6] if name == "answerable" else rows[-8:]:
            print(f"  dense={dense:.3f} domain={domain} answered={ok}  {q}")


if __name__ == "__main__":
    main()
