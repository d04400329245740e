"""The validated shape of a duty rule, shared by YAML, CSV and XLSX input.

Validation messages are Chinese because admins read them; field names stay English in data.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NATIONAL = "全国"

# Display order: enterprise first, then the worker's own duty, then departments, territory, party/government.
LAYERS: tuple[str, ...] = ("企业主体责任", "从业人员/岗位", "部门监管责任", "属地管理责任", "党政领导责任")
_LAYER_ALIASES = {
    "企业": "企业主体责任", "主体责任": "企业主体责任", "企业主体": "企业主体责任", "单位": "企业主体责任",
    "从业人员": "从业人员/岗位", "岗位": "从业人员/岗位", "从业人员岗位": "从业人员/岗位", "岗位责任": "从业人员/岗位",
    "部门": "部门监管责任", "监管责任": "部门监管责任", "部门监管": "部门监管责任",
    "属地": "属地管理责任", "属地管理": "属地管理责任", "属地责任": "属地管理责任",
    "党政": "党政领导责任", "领导责任": "党政领导责任", "党政领导": "党政领导责任",
}

FIELD_LABELS = {
    "id": "编号(id)", "topic": "主题(topic)", "aliases": "别名(aliases)", "keywords": "关键词(keywords)",
    "layer": "层级(layer)", "party": "责任主体(party)", "duty": "职责(duty)", "basis": "依据(basis)",
    "evidence": "原文摘录(evidence)", "law_wording": "法条原称(law_wording)",
    "jurisdiction": "适用地区(jurisdiction)", "note": "备注(note)", "document": "法规名称", "article": "条号",
}

_CN_DIGITS = "零一二三四五六七八九"
_ID_RE = re.compile(r"^[\w.\-/]{1,80}$")
_ARTICLE_RE = re.compile(r"^第?\s*([0-9零〇一二两三四五六七八九十百千]+)\s*条?(?:\s*之\s*([0-9一二三四五六七八九十]+))?$")
# A local regulation is named after its province or city ("北京市安全生产条例").
_LOCAL_TITLE_RE = re.compile(r"^(.{2,4}?(?:省|市|自治区))")


def cn_number(n: int) -> str:
    """1..9999 as written in statute numbering (十一, 一百一十, 一百零一)."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        head, rest = _CN_DIGITS[n // 100] + "百", n % 100
    else:
        head, rest = _CN_DIGITS[n // 1000] + "千", n % 1000
        if rest and rest < 100:
            return head + "零" + cn_number(rest)
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + _CN_DIGITS[rest]
    return head + (_CN_DIGITS[rest // 10] + "十" + (_CN_DIGITS[rest % 10] if rest % 10 else "") if rest < 100 else cn_number(rest))


def normalize_article(value: str) -> str:
    """"第43条", "43", "第四十三条" → "第四十三条"; "第134条之1" → "第一百三十四条之一"."""
    text = re.sub(r"\s+", "", value or "")
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    m = _ARTICLE_RE.match(text)
    if not m:
        raise ValueError(f"条号“{value}”格式不正确，应写作“第四十三条”或“第43条”")
    main, sub = m.group(1), m.group(2)
    if main.isdigit():
        if int(main) == 0:
            raise ValueError(f"条号“{value}”格式不正确")
        main = cn_number(int(main))
    if sub and sub.isdigit():
        sub = cn_number(int(sub))
    return f"第{main}条" + (f"之{sub}" if sub else "")


def normalize_document(value: str) -> str:
    """Titles as users write them: 《》 and the "中华人民共和国" prefix are optional."""
    text = re.sub(r"\s+", "", value or "").strip("《》〈〉<>\"'“”、，,")
    return text.removeprefix("中华人民共和国")


def local_region(title: str) -> str | None:
    """The province/city a local regulation belongs to, judged from its title."""
    m = _LOCAL_TITLE_RE.match(title)
    return m.group(1) if m else None


def canonical_layer(value: str) -> str:
    text = re.sub(r"\s+", "", value or "")
    if text in LAYERS:
        return text
    if text in _LAYER_ALIASES:
        return _LAYER_ALIASES[text]
    raise ValueError(f"层级“{value}”无法识别，应为：{'、'.join(LAYERS)}")


def _clean_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[|；;、，,\n]", value)
    if not isinstance(value, (list, tuple)):
        raise ValueError("应为文字列表")  # noqa: TRY004 - pydantic reports only ValueError as a validation error
    out: list[str] = []
    for item in value:
        text = str(item).strip()
        if text and text not in out:
            out.append(text)
    return out


class BasisRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: str
    article: str
    evidence: str | None = None

    @field_validator("document")
    @classmethod
    def _doc(cls, v: str) -> str:
        v = normalize_document(v)
        if not v:
            raise ValueError("法规名称不能为空")
        return v

    @field_validator("article", mode="before")
    @classmethod
    def _article(cls, v: Any) -> str:
        return normalize_article(str(v))

    @field_validator("evidence")
    @classmethod
    def _evidence(cls, v: str | None) -> str | None:
        v = (v or "").strip()
        return v or None

    def label(self) -> str:
        return f"《{self.document}》{self.article}"


class RuleIn(BaseModel):
    """One duty rule as loaded from a file, before it is checked against the knowledge base."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    topic: str
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    layer: str
    party: str
    duty: str = Field(max_length=500)
    basis: list[BasisRef]
    law_wording: str | None = Field(default=None, max_length=200)
    jurisdiction: str = NATIONAL
    note: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        text = "" if v is None else str(v).strip()
        if not text:
            raise ValueError("编号不能为空")
        if not _ID_RE.match(text):
            raise ValueError(f"编号“{text}”只能含字母、数字、汉字和 . - _ /，且不超过 80 字")
        return text

    @field_validator("topic", "party", "duty", mode="before")
    @classmethod
    def _required_text(cls, v: Any) -> str:
        text = "" if v is None else str(v).strip()
        if not text:
            raise ValueError("不能为空")
        return text

    @field_validator("topic", "party")
    @classmethod
    def _short(cls, v: str) -> str:
        if len(v) > 100:
            raise ValueError("不能超过 100 字")
        return v

    @field_validator("aliases", "keywords", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        return _clean_list(v)

    @field_validator("layer", mode="before")
    @classmethod
    def _layer(cls, v: Any) -> str:
        return canonical_layer("" if v is None else str(v))

    @field_validator("basis")
    @classmethod
    def _basis(cls, v: list[BasisRef]) -> list[BasisRef]:
        if not v:
            raise ValueError("至少需要一条法律依据")
        seen: set[tuple[str, str]] = set()
        for ref in v:
            key = (ref.document, ref.article)
            if key in seen:
                raise ValueError(f"依据{ref.label()}重复")
            seen.add(key)
        return v

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _jurisdiction(cls, v: Any) -> str:
        text = "" if v is None else re.sub(r"\s+", "", str(v))
        return text or NATIONAL

    @field_validator("law_wording", "note", mode="before")
    @classmethod
    def _optional(cls, v: Any) -> str | None:
        text = "" if v is None else str(v).strip()
        return text or None

    def snapshot(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        payload = json.dumps(self.snapshot(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _message(err: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    field = next((FIELD_LABELS[p] for p in reversed(loc) if p in FIELD_LABELS), "/".join(loc) or "记录")
    kind = err.get("type", "")
    if kind == "missing":
        return f"缺少{field}"
    if kind == "extra_forbidden":
        return f"未知字段“{loc[-1] if loc else ''}”"
    if kind == "value_error":
        return f"{field}：{err.get('ctx', {}).get('error', err.get('msg'))}"
    if kind == "string_too_long":
        return f"{field}过长（最多 {err.get('ctx', {}).get('max_length')} 字）"
    if kind in ("list_type", "dict_type", "model_type"):
        return f"{field}格式不正确"
    return f"{field}格式不正确"


def parse_rule(raw: dict[str, Any]) -> tuple[RuleIn | None, list[str]]:
    """Validate one raw record; returns the rule or Chinese error messages."""
    try:
        return RuleIn.model_validate(raw), []
    except ValidationError as exc:
        return None, [_message(e) for e in exc.errors()]
