"""Folium pages in which data never become template source.

branca's :meth:`MacroElement.render` renders an element's ``header``,
``html`` and ``script`` macros and wraps each result in ``Element(text)`` —
which compiles ``text`` as a *new* Jinja template and renders it again when
the page is assembled.  Whatever the first pass put into the text (a
feature's name, a popup, a layer title) is therefore evaluated as Jinja:
a red-line feature named ``{{ 1337*1337 }}`` shows ``1787569``, and
``{{ cycler.__init__.__globals__.os... }}`` runs code.  folium's
:meth:`Popup.render` and :meth:`Class.render` (the ``include`` statements)
do the same.

``branca.element.Div.render`` too.  This module replaces those methods (once, on import of
:mod:`ecogis.render.webmap`) with versions that add the rendered text as a
:class:`Raw` element, which is emitted verbatim: the element templates are
folium's and ecogis's own constants, rendered once, with data reaching them
only as values.  The behaviour is otherwise the same (the same children, in
the same sections, under the same names), so any folium element keeps
working; only the second, unintended evaluation is gone.
"""

from __future__ import annotations

from typing import Any

import folium.map
from branca.element import Element, Figure, MacroElement

__all__ = ["Raw", "install"]


class Raw(Element):
    """Text put into a page as it is: never parsed or rendered as a template."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.text = str(text)

    def render(self, **kwargs: Any) -> str:  # noqa: D401 - branca hook
        return self.text


def _macro_render(self: MacroElement, **kwargs: Any) -> None:
    """:meth:`MacroElement.render` with the macros' output added as :class:`Raw` text."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    module = self._template.module.__dict__
    for section in ("header", "html", "script"):
        macro = module.get(section)
        if macro is not None:
            getattr(figure, section).add_child(Raw(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


def _popup_render(self: folium.map.Popup, **kwargs: Any) -> None:
    """:meth:`folium.Popup.render` with its script added as :class:`Raw` text."""
    for child in self._children.values():
        child.render(**kwargs)
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    figure.script.add_child(Raw(self._template.render(this=self, kwargs=kwargs)), name=self.get_name())


def _class_render(self: folium.map.Class, **kwargs: Any) -> None:
    """:meth:`folium.map.Class.render` with the ``include`` statement added as :class:`Raw` text."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    if self.includes:
        stmt = folium.map.IncludeStatement(self.leaflet_class_name, **self.includes)
        figure.script.add_child(Raw(stmt._template.render(this=stmt, kwargs=self.includes)),
                                name=self._name + "_includes", index=-1)
    MacroElement.render(self, **kwargs)


def _div_render(self: Any, **kwargs: Any) -> None:
    """:meth:`branca.element.Div.render` with its macros' output added as :class:`Raw` text."""
    figure = self._parent
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    for element in self._children.values():
        element.render(**kwargs)
    for name, element in self.header._children.items():
        figure.header.add_child(element, name=name)
    for name, element in self.script._children.items():
        figure.script.add_child(element, name=name)
    module = self._template.module.__dict__
    for section in ("header", "html", "script"):
        macro = module.get(section)
        if macro is not None:
            getattr(figure, section).add_child(Raw(macro(self, kwargs)), name=self.get_name())


_INSTALLED = False


def install() -> None:
    """Replace the three render methods (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    MacroElement.render = _macro_render  # type: ignore[method-assign]
    folium.map.Popup.render = _popup_render  # type: ignore[method-assign]
    if hasattr(folium.map, "Class") and hasattr(folium.map, "IncludeStatement"):
        folium.map.Class.render = _class_render  # type: ignore[method-assign]
    import branca.element

    if hasattr(branca.element, "Div"):
        branca.element.Div.render = _div_render  # type: ignore[method-assign]
    _INSTALLED = True
