"""What a newcomer reads on the command line: help texts, click's errors, tables, the chat's help."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.cli.common import display_width, table
from knowledge.config import Settings
from knowledge.db import transaction
from knowledge.documents import replace_document
from knowledge.parse import parse_document

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def cli(settings: Settings):
    env = {"SAFETYBOT_DATA_DIR": str(settings.data_dir), "SAFETYBOT_DATABASE_URL": settings.database_url,
           "SAFETYBOT_LOAD_BUNDLED": "false", "SAFETYBOT_MODEL_DIR": str(settings.model_dir)}

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)

    return run


def _commands(group: click.Group, path: str = "safetybot"):
    for name, command in group.commands.items():
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} {name}")


def test_every_command_and_option_is_described_in_chinese():
    for path, command in _commands(main):
        described = command.get_short_help_str(limit=200)
        assert described and any("\u4e00" <= ch <= "\u9fff" for ch in described), path
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help and any("\u4e00" <= ch <= "\u9fff" for ch in param.help), (path, param.opts)


def test_click_speaks_chinese_too(cli):
    missing = cli("hazards", "review", "YH-1")
    assert missing.exit_code == 2
    assert "缺少选项 '--note'" in missing.output and "用法: safetybot hazards review" in missing.output
    assert "Missing" not in missing.output and "Usage" not in missing.output
    wrong = cli("hazards", "list", "--level", "大")
    assert "'--level' 的值无效" in wrong.output and "可选" in wrong.output
    typo = cli("hazards", "lst")
    assert "没有 'lst' 这个命令" in typo.output and "list" in typo.output
    helped = cli("hazards", "add", "-h")
    assert "选项:" in helped.output and "显示本说明并退出。" in helped.output and "Show this" not in helped.output


def test_template_help_says_what_file_is(cli):
    assert "写入 FILE" in cli("hazards", "template", "--help").output


def test_as_is_accepted_after_the_subcommand(cli):
    assert cli("units", "add", "示范市", "--kind", "市").exit_code == 0
    assert cli("officials", "add", "王五", "--unit", "示范市", "--role", "viewer").exit_code == 0
    before = cli("hazards", "--as", "王五", "add", "-d", "配电箱门未关闭", "--unit", "示范市", "--deadline", "3天")
    after = cli("hazards", "add", "-d", "配电箱门未关闭", "--unit", "示范市", "--deadline", "3天", "--as", "王五")
    assert before.exit_code == after.exit_code == 1  # a viewer may not record hazards, either way round
    assert before.output == after.output and "只读" in after.output
    assert cli("hazards", "add", "-d", "配电箱门未关闭", "--unit", "示范市", "--deadline", "3天").exit_code == 0


def test_table_aligns_by_display_width():
    lines = table(("单位", "隐患数", "备注"), [("东城街道", 12, "—"), ("高新区", 3, "ok"), ("Acme Ltd", 100, "")],
                  right=(1,))
    assert lines[0].startswith("单位") and lines[1].startswith("东城街道")
    # Unit names are padded to 8 terminal columns, then two spaces, then the numbers right-aligned
    # in 6 columns (the width of 隐患数): every number ends at terminal column 16.
    ends = [display_width(line[: line.index(value) + len(value)])
            for line, value in zip(lines, ("隐患数", "12", "3", "100"))]
    assert ends == [16, 16, 16, 16]
    assert display_width(lines[1][: lines[1].index("—")]) == display_width(lines[0][: lines[0].index("备注")])


def test_docs_prints_a_header_row_and_aligned_columns(cli, settings, sessions, tmp_path):
    source = tmp_path / "有限空间作业安全规定.md"
    source.write_text("# 有限空间作业安全规定\n\n第一条 为了加强有限空间作业安全管理，制定本规定。\n", encoding="utf-8")
    with transaction(sessions) as session:
        replace_document(session, parse_document(source, kind="rule"), "test")
    out = cli("docs").output.splitlines()
    assert out[0].split() == ["标题", "状态", "类别", "地区", "条文段数", "版本/发布日期", "发文机关"]
    assert out[1].split()[:3] == ["有限空间作业安全规定", "现行有效", "规章"]
    assert display_width(out[0][: out[0].index("状态")]) == display_width(out[1][: out[1].index("现行有效")])
    assert out[-1] == "共 1 份文件"


@pytest.mark.slow
def test_chat_explains_itself_and_how_to_leave(cli):
    done = cli("chat", input="帮助\n?\n/help\nexit\n")
    assert done.exit_code == 0
    welcome = done.stdout.splitlines()[0]
    assert "help" in welcome and "退出" in welcome
    assert done.stdout.count("我能做的事") == 3
    assert "谁负责" in done.stdout and "安全生产法第四十三条" in done.stdout and "Ctrl+C" in done.stdout
    assert "加载嵌入模型" in done.stderr  # progress goes to stderr, not into the conversation


def test_basis_suggestions_from_another_regions_regulation_are_labelled_local(settings, sessions, tmp_path):
    from bot.cli.ledger import local_labels
    from bot.runtime import Runtime

    for name, kind in (("北京市安全生产条例", "local_regulation"), ("安全生产法", "law")):
        source = tmp_path / f"{name}.md"
        source.write_text(f"# {name}\n\n第一条 为了加强安全生产工作，制定本条例。\n", encoding="utf-8")
        with transaction(sessions) as session:
            replace_document(session, parse_document(source, kind=kind), "test")
    titles = ["北京市安全生产条例", "安全生产法"]
    elsewhere = Runtime(settings.model_copy(update={"jurisdiction": "上海市"}))
    assert local_labels(elsewhere, titles) == {"北京市安全生产条例": "（北京市地方性法规）"}
    at_home = Runtime(settings.model_copy(update={"jurisdiction": "北京市"}))
    assert local_labels(at_home, titles) == {}
