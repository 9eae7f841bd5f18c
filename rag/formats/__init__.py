"""One module per file format; each exposes ``load(path, raw) -> Extracted`` (text.py also ``load_markdown``).

:mod:`rag.documents` maps file suffixes to these loaders. Shared pieces (Extracted, _Blocks, decoding) live in
:mod:`rag.formats.common`. Parsers (lxml, pypdf, python-docx, python-pptx, openpyxl) are imported inside
``load``, never at import time.
"""
