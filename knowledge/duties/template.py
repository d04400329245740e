"""A filled-in example spreadsheet for admins who maintain rules in Excel."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from knowledge.duties.loader import COLUMNS, REQUIRED_COLUMNS
from knowledge.duties.schema import FIELD_LABELS, LAYERS
from knowledge.spreadsheets import save_workbook

EXAMPLES: list[dict[str, str]] = [
    {
        "id": "local.hotwork.unit", "topic": "电焊/气焊/动火作业", "aliases": "电焊|动火|气割",
        "keywords": "明火", "layer": "企业主体责任", "party": "生产经营单位",
        "duty": "动火等危险作业应安排专门人员进行现场安全管理。",
        "basis": "《安全生产法》第四十三条", "evidence": "应当安排专门人员进行现场安全管理",
        "law_wording": "", "jurisdiction": "全国", "note": "",
    },
    {
        "id": "local.hotwork.fire", "topic": "电焊/气焊/动火作业", "aliases": "电焊|动火", "keywords": "",
        "layer": "部门监管责任", "party": "消防救援机构",
        "duty": "对单位遵守消防法律法规的情况依法监督检查。",
        "basis": "《消防法》第五十三条", "evidence": "依法进行监督检查", "law_wording": "",
        "jurisdiction": "全国", "note": "",
    },
    {
        "id": "local.small-venue.sd", "topic": "九小场所（小型场所）消防安全", "aliases": "九小场所|规模较小场所",
        "keywords": "", "layer": "部门监管责任", "party": "公安派出所",
        "duty": "对规模较小场所进行日常消防监督检查。", "basis": "《山东省消防条例》第五十八条",
        "evidence": "公安派出所对规模较小场所和村庄、住宅区的消防安全工作进行日常消防监督检查",
        "law_wording": "公安机关消防机构", "jurisdiction": "山东省", "note": "地方规定",
    },
]

HELP = {
    "id": "规则编号，唯一；相同编号再次加载即为更新（旧版本保留在历史中）",
    "topic": "主题：作业、场所、行业或事项",
    "aliases": "别名，用 | 分隔（用户可能的叫法、简称）",
    "keywords": "关键词，用 | 分隔（较弱的匹配词）",
    "layer": "层级：" + "、".join(LAYERS),
    "party": "责任主体（用现行机构名称）",
    "duty": "职责，一句话",
    "basis": "法律依据，如《安全生产法》第四十三条；多条用 | 分隔；法规须已在知识库中",
    "evidence": "原文摘录：依据条文中支持该职责的原话，与依据一一对应，用 | 分隔（可空）",
    "law_wording": "法条原称：法条使用的旧机构名称（如 安全生产监督管理部门）",
    "jurisdiction": "适用地区：全国，或地方性法规所属省市（如 北京市）",
    "note": "备注（可空）",
}


def write_template(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "规则"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for example in EXAMPLES:
        ws.append([example.get(c, "") for c in COLUMNS])
    for col, width in zip("ABCDEFGHIJKL", (22, 22, 18, 10, 14, 20, 40, 28, 36, 18, 10, 12)):
        ws.column_dimensions[col].width = width
    info = wb.create_sheet("说明")
    info.append(["列", "名称", "必填", "说明"])
    for c in COLUMNS:
        info.append([c, FIELD_LABELS.get(c, c), "是" if c in REQUIRED_COLUMNS else "否", HELP[c]])
    info.append([])
    info.append(["注意", "", "", "只读取第一个工作表；文件中任何一行有错时整份文件都不会加载，请按提示修改后重新加载。"])
    return save_workbook(wb, path)
