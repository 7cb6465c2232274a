"""Small helpers over a GenICam XML's element tree, shared by the XML loader
(:mod:`.genicam_xml`) and the register-image seeder (:mod:`.genicam_seed`) so that neither
imports the other for them."""

from __future__ import annotations

from xml.etree import ElementTree as ET

__all__ = ["element_text", "index_elements", "local_tag"]


def local_tag(e: ET.Element) -> str:
    """The element's tag without its namespace (``{http://…}Integer`` → ``Integer``)."""
    return e.tag.rsplit("}", 1)[-1]


def element_text(e: ET.Element | None) -> str:
    """The element's stripped text; empty for no element or no text."""
    return "" if e is None or e.text is None else e.text.strip()


def index_elements(root: ET.Element) -> dict[str, ET.Element]:
    """Every named node element by its ``Name`` (the first one wins; enum entries and
    formula variables are not nodes of their own)."""
    out: dict[str, ET.Element] = {}
    for e in root.iter():
        name = e.get("Name")
        if name and local_tag(e) not in ("EnumEntry", "pVariable", "pIndex"):
            out.setdefault(name, e)
    return out
