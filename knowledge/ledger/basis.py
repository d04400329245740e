"""Legal-basis suggestions and the "possible 重大事故隐患" flag for a new hazard item.

Suggestions are offered for the user to confirm; the service never attaches them by itself.
The retrieval index and the duty rules plug in through the ``BasisSuggester`` protocol.

The major-hazard flag is a documented heuristic, not a legal determination. 安全生产法 第一百一十八条
leaves the criteria (判定标准) to the 国务院应急管理部门 and the sector regulators; the bundled
煤矿安全生产条例 第三十六条 lists the coal-mine cases verbatim. The patterns below follow that list
and the common categories of the published sector criteria (工贸、危化、消防、燃气、建筑施工、
特种设备). A match only prompts the user to check the applicable 判定标准.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from knowledge.textnorm import normalize


@dataclass(frozen=True)
class BasisSuggestion:
    document: str
    article: str | None
    excerpt: str
    score: float
    kind: str = "law"


@dataclass(frozen=True)
class DutyLayer:
    """One layer of responsibility (e.g. 生产经营单位主要负责人, 行业主管部门) from the duty rules."""

    layer: str
    subject: str
    basis: str | None = None


class BasisSuggester(Protocol):
    def suggest(self, description: str) -> list[BasisSuggestion]: ...

    def duty_layers(self, description: str) -> list[DutyLayer]: ...


@dataclass(frozen=True)
class MajorHazardPattern:
    name: str
    pattern: re.Pattern[str]
    document: str
    article: str | None
    excerpt: str


def _p(name: str, regex: str, document: str, article: str | None, excerpt: str) -> MajorHazardPattern:
    return MajorHazardPattern(name, re.compile(regex), document, article, excerpt)


_COAL = "煤矿安全生产条例"
_STD = "重大事故隐患判定标准（行业领域，未收录全文）"
MAJOR_PATTERNS: tuple[MajorHazardPattern, ...] = (
    _p("超能力超强度超定员", r"超(能力|强度|定员)", _COAL, "第三十六条", "（一）超能力、超强度或者超定员组织生产的"),
    _p("瓦斯超限", r"瓦斯.{0,6}(超限|超标)", _COAL, "第三十六条", "（二）瓦斯超限作业的"),
    _p("防突措施", r"(突出矿井|防突).{0,10}(未|没有|不)", _COAL, "第三十六条", "（三）突出矿井未按照规定实施防突措施的"),
    _p("瓦斯抽采", r"瓦斯抽采.{0,10}(未|没有|不能|不正常)", _COAL, "第三十六条", "（四）未按照规定建立瓦斯抽采系统，或者系统不能正常运行的"),
    _p("通风系统", r"通风系统.{0,6}(不完善|不可靠)", _COAL, "第三十六条", "（五）通风系统不完善、不可靠的"),
    _p("超层越界开采", r"(超层|越界)开采", _COAL, "第三十六条", "（六）超层、越界开采的"),
    _p("严重水患", r"(严重水患|水害.{0,6}未采取)", _COAL, "第三十六条", "（七）有严重水患，未采取有效措施的"),
    _p("冲击地压", r"冲击地压", _COAL, "第三十六条", "（八）有冲击地压危险，未采取有效措施的"),
    _p("自然发火", r"自然发火", _COAL, "第三十六条", "（九）自然发火严重，未采取有效措施的"),
    _p("淘汰设备工艺", r"(应当|国家明令|明令)?淘汰的?.{0,8}(设备|工艺)", _COAL, "第三十六条",
       "（十）使用应当淘汰的危及生产安全的设备、工艺的"),
    _p("监控通讯系统", r"(监控|通讯|通信)系统.{0,10}(未|不能|不正常|失效)", _COAL, "第三十六条",
       "（十一）未按照规定建立监控与通讯系统，或者系统不能正常运行的"),
    _p("双回路供电", r"双回路供电", _COAL, "第三十六条", "（十三）未按照规定采用双回路供电系统的"),
    _p("粉尘涉爆", r"(粉尘|除尘).{0,12}(爆炸|涉爆|未.{0,4}(泄爆|隔爆|防爆)|积尘)", _STD, None,
       "工贸行业：粉尘涉爆企业除尘系统、泄爆隔爆措施不符合要求"),
    _p("有限空间", r"有限空间.{0,12}(未|没有|无)", _STD, None,
       "工贸行业：有限空间作业未进行辨识、审批、通风检测"),
    _p("液氨制冷", r"液氨", _STD, None, "工贸行业：涉氨制冷场所布置、泄漏报警等不符合要求"),
    _p("危化品无证", r"(危险化学品|危化品).{0,12}(无证|未取得|未经.{0,4}许可)", _STD, None,
       "危险化学品：未取得安全许可从事生产、经营"),
    _p("可燃有毒气体报警", r"(可燃|有毒)气体.{0,8}(报警|检测).{0,6}(未|没有|失效|不能)", _STD, None,
       "危险化学品：可燃和有毒气体泄漏报警装置未按规定设置或不能正常使用"),
    _p("疏散通道", r"(安全出口|疏散通道|消防通道|疏散楼梯).{0,8}(堵塞|封闭|占用|锁闭|不足)", _STD, None,
       "重大火灾隐患：安全出口、疏散通道被封闭、堵塞或数量不足"),
    _p("消防设施", r"(自动喷水|火灾自动报警|消防(给水|水泵|设施)).{0,8}(瘫痪|停用|损坏|不能|失效)", _STD, None,
       "重大火灾隐患：消防设施瘫痪或不能正常运行"),
    _p("燃气地下室", r"(地下室|半地下|高层建筑).{0,12}(液化石油气|液化气|燃气瓶|气瓶)", _STD, None,
       "城镇燃气：在地下、半地下空间或高层建筑内使用瓶装液化石油气"),
    _p("燃气泄漏报警", r"燃气.{0,10}(泄漏报警|切断装置).{0,6}(未|没有|失效)", _STD, None,
       "城镇燃气：餐饮等场所未按规定安装燃气泄漏报警及切断装置"),
    _p("深基坑高支模", r"(深基坑|高支模|脚手架|起重机械).{0,12}(未|没有|无).{0,6}(方案|论证|验收|监测)", _STD, None,
       "房屋市政工程：危险性较大的分部分项工程未编制专项方案、未论证或未验收"),
    _p("特种设备超期", r"(特种设备|锅炉|压力容器|电梯|起重机).{0,10}(超期|未经?检验|未检验|报废)", _STD, None,
       "特种设备：未经检验、超期未检或达到报废条件继续使用"),
    _p("冒险作业", r"(停产|停业|停止施工|停止使用).{0,10}(拒不|仍然|继续)", "安全生产法", "第七十条",
       "依法作出停产停业等决定后生产经营单位应当依法执行，及时消除事故隐患"),
)


@dataclass(frozen=True)
class MajorHazardFlag:
    pattern: str
    document: str
    article: str | None
    excerpt: str

    def as_suggestion(self) -> BasisSuggestion:
        return BasisSuggestion(self.document, self.article, self.excerpt, 1.0)


def flag_major_hazard(description: str) -> list[MajorHazardFlag]:
    """Which known 重大事故隐患 descriptions the text resembles (heuristic; empty if none)."""
    text = normalize(description)
    return [
        MajorHazardFlag(p.name, p.document, p.article, p.excerpt)
        for p in MAJOR_PATTERNS
        if p.pattern.search(text)
    ]
