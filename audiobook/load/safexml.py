"""XML from inside an EPUB (container, OPF, NCX), parsed so it cannot reach outside.

Two layers: a document that declares entities is refused outright (no legitimate
EPUB package file needs them; it is either XXE or an expansion bomb), and the lxml
parser itself never loads DTDs, never touches the network, never resolves entities.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .markup import clean

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


class UnsafeXML(ValueError):
    """The XML declares entities."""


class BrokenXML(ValueError):
    """Not XML we can make sense of, even leniently."""


def _parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def parse_xml(data: bytes) -> Any:
    """The root element (an ``lxml`` element; typed Any as lxml ships no stubs here)."""
    if _declares_entities(data):
        raise UnsafeXML("XML entity declarations")
    try:
        root = etree.fromstring(data, _parser(recover=False))
    except etree.XMLSyntaxError:
        # Hand-made EPUBs often have a stray "&" in a description; read what we can.
        try:
            root = etree.fromstring(data, _parser(recover=True))
        except etree.LxmlError as e:
            raise BrokenXML(str(e)) from None
    except etree.LxmlError as e:
        raise BrokenXML(str(e)) from None
    if root is None:
        raise BrokenXML("no root element")
    return root


def _declares_entities(data: bytes) -> bool:
    if _ENTITY_DECL.search(data):
        return True
    if b"\x00" in data[:512]:  # UTF-16/32: look at the decoded text instead
        for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            if "<!entity" in data.decode(encoding, errors="ignore").lower():
                return True
    return False


def local(el: Any) -> str:
    """An element's tag without namespace; "" for entity references and the like."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(el: Any, name: str) -> list[Any]:
    return [c for c in el if local(c) == name]


def descendants(el: Any, name: str) -> list[Any]:
    return [c for c in el.iter() if local(c) == name]


def first(el: Any, name: str) -> Any | None:
    return next((c for c in el.iter() if local(c) == name), None)


def attr(el: Any, name: str) -> str:
    """An attribute by local name, whatever namespace (or none) the EPUB put it in."""
    for key, value in el.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return str(value).strip()
    return ""


def xml_text(el: Any) -> str:
    """Collapsed text content, leaving out unexpanded entity references."""
    parts: list[str] = []
    _collect(el, parts)
    return clean("".join(parts))


def _collect(el: Any, parts: list[str]) -> None:
    # Recursion is bounded: libxml2 refuses documents nested over 256 deep (no huge_tree).
    parts.append(el.text or "")
    for child in el:
        if isinstance(child.tag, str):
            _collect(child, parts)
        parts.append(child.tail or "")
