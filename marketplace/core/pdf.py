"""PDF documents with readable Chinese: reportlab with WenQuanYi Micro Hei embedded.

Debian's fonts-wqy-microhei is a TrueType collection reportlab can embed (subfont 0); where it
is missing, reportlab's built-in CID font STSong-Light stands in (not embedded, but every PDF
reader has it).
"""

import os
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_CANDIDATES = [
    os.environ.get("PDF_CJK_FONT", ""),
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
]


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register and return the name of a font that draws Chinese."""
    for path in FONT_CANDIDATES:
        if path and os.path.exists(path):
            pdfmetrics.registerFont(TTFont("WQYMicroHei", path, subfontIndex=0))
            return "WQYMicroHei"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"
