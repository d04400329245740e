"""Telegram's ``parse_mode=HTML`` parser, reimplemented to fail exactly where Telegram fails.

It follows the algorithm of TDLib's ``parse_html`` (which the Bot API uses), so a message the
real Telegram would refuse with ``Bad Request: can't parse entities: ...`` is refused here too:

* only the tags b, strong, i, em, u, ins, s, strike, del, tg-spoiler, span class="tg-spoiler",
  a href, code (class="language-..." inside pre), pre and blockquote (optionally ``expandable``);
* any ``<`` starts a tag, so a bare ``<`` (``a < b``) is an error, as are unknown, unclosed and
  mismatched tags;
* the named entities ``&lt; &gt; &amp; &quot;`` and numeric ones are decoded (the ``;`` is
  optional); any other ``&`` is kept literally, as Telegram does.

The result is the plain text plus message entities with offsets in UTF-16 code units, the way the
Bot API reports them. Length limits are counted on that plain text (see ``visible_length``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALLOWED_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "span",
     "code", "pre", "blockquote"}
)
# TDLib's is_space(); the NUL stands for "past the end of the text".
_SPACES = frozenset(" \t\r\n\v\f\0")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
}


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(error)`` is TDLib's wording."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_start: int  # index into the output characters, for <a> without href


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _at(text: str, index: int) -> str:
    return text[index] if index < len(text) else "\0"


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[pos] == '&'``: (character, next index)."""
    end = pos + 1
    if _at(text, end) == "#":
        end += 1
        value = 0
        if _at(text, end) == "x":
            end += 1
            digits = "0123456789abcdefABCDEF"
            base = 16
        else:
            digits = "0123456789"
            base = 10
        while _at(text, end) in digits:
            value = value * base + int(text[end], base)
            end += 1
            if value >= 0x10FFFF:
                return None
        if value == 0 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        while _at(text, end).isascii() and _at(text, end).isalpha():
            end += 1
        char = _NAMED_ENTITIES.get(text[pos + 1:end])
        if char is None:
            return None
    if _at(text, end) == ";":
        end += 1
    return char, end


def parse_html(text: str) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise ``HtmlParseError``."""
    out: list[str] = []
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            utf16 += utf16_len(char)
            i += 1
            continue

        begin = i
        i += 1
        if _at(text, i) != "/":
            i = _parse_start_tag(text, begin, i, stack, utf16, len(out))
        else:
            i = _parse_end_tag(text, begin, i, stack, entities, out, utf16)
    if stack:
        raise HtmlParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _parse_start_tag(
    text: str, begin: int, i: int, stack: list[_OpenTag], utf16: int, out_len: int
) -> int:
    n = len(text)
    while _at(text, i) not in _SPACES and _at(text, i) != ">":
        i += 1
    if i >= n:
        raise HtmlParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    tag = text[begin + 1:i].lower()
    offset = _byte_offset(text, begin)
    if tag not in ALLOWED_TAGS:
        raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {offset}')

    argument = ""
    while _at(text, i) != ">":
        while i < n and _at(text, i) in _SPACES:
            i += 1
        if _at(text, i) == ">":
            break
        name_start = i
        while _at(text, i) not in _SPACES and _at(text, i) != "=" and _at(text, i) != ">":
            i += 1
        attribute = text[name_start:i]
        if not attribute:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
            )
        while i < n and _at(text, i) in _SPACES:
            i += 1
        if _at(text, i) != "=":
            if tag == "blockquote" and attribute.lower() == "expandable":
                argument = "1"
                continue
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {offset}'
            )
        i += 1
        while i < n and _at(text, i) in _SPACES:
            i += 1
        if i >= n:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {offset}')
        value_chars: list[str] = []
        if _at(text, i) not in "'\"":
            # An unquoted name token: letters, digits, periods and hyphens only.
            token_start = i
            while _at(text, i).isascii() and (_at(text, i).isalnum() or _at(text, i) in ".-"):
                i += 1
            value = text[token_start:i].lower()
            if _at(text, i) not in _SPACES and _at(text, i) != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                )
        else:
            quote = text[i]
            i += 1
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_entity(text, i)
                    if decoded is not None:
                        value_chars.append(decoded[0])
                        i = decoded[1]
                        continue
                value_chars.append(text[i])
                i += 1
            if i < n:
                i += 1
            value = "".join(value_chars)
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
        attribute = attribute.lower()
        if tag == "a" and attribute == "href":
            argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            argument = value[len("language-"):]
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value[len("tg-"):]
        elif tag == "blockquote" and attribute == "expandable":
            argument = "1"
    if tag == "span" and argument != "spoiler":
        raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    stack.append(_OpenTag(tag, argument, utf16, out_len))
    return i + 1


def _parse_end_tag(
    text: str,
    begin: int,
    i: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    out: list[str],
    utf16: int,
) -> int:
    offset = _byte_offset(text, begin)
    if not stack:
        raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
    n = len(text)
    while _at(text, i) not in _SPACES and _at(text, i) != ">":
        i += 1
    end_name = text[begin + 2:i].lower()
    while i < n and _at(text, i) in _SPACES:
        i += 1
    if _at(text, i) != ">":
        raise HtmlParseError(f"Unclosed end tag at byte offset {offset}")
    opened = stack.pop()
    if end_name and end_name != opened.name:
        raise HtmlParseError(
            f'Unmatched end tag at byte offset {offset}, expected "</{opened.name}>", '
            f'found "</{end_name}>"'
        )
    length = utf16 - opened.utf16_offset
    if length:
        _add_entity(opened, length, entities, out)
    return i + 1


def _add_entity(
    opened: _OpenTag, length: int, entities: list[dict[str, Any]], out: list[str]
) -> None:
    entity: dict[str, Any] = {"offset": opened.utf16_offset, "length": length}
    if opened.name in _SIMPLE_ENTITY_TYPES:
        entity["type"] = _SIMPLE_ENTITY_TYPES[opened.name]
    elif opened.name == "a":
        entity["type"] = "text_link"
        entity["url"] = opened.argument or "".join(out[opened.text_start:])
    elif opened.name == "code":
        entity["type"] = "code"
        if opened.argument:
            entity["language"] = opened.argument
    elif opened.name == "pre":
        # <pre><code class="language-x">…</code></pre> becomes one pre entity with a language.
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == opened.utf16_offset
            and last["length"] == length
        ):
            entities.pop()
            entity["type"] = "pre"
            if "language" in last:
                entity["language"] = last["language"]
        else:
            entity["type"] = "pre"
    else:  # blockquote
        entity["type"] = "expandable_blockquote" if opened.argument else "blockquote"
    entities.append(entity)


def strip_text(parsed: ParsedText) -> ParsedText:
    """Trim surrounding whitespace as Telegram does, keeping entity offsets right."""
    leading = len(parsed.text) - len(parsed.text.lstrip())
    stripped = parsed.text.strip()
    shift = utf16_len(parsed.text[:leading])
    total = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)


def visible_length(text: str) -> int:
    """The length Telegram checks against its 4096/1024 limits: Unicode code points."""
    return len(text)
