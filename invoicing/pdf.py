"""Buyers' invoice documents drawn with reportlab: the invoice the platform draws for an issuer
(a VAT-invoice-like page) and the stamped explanation letter (说明函) with its verification code,
QR code and the platform's seal.

Both are Chinese documents by nature (a Chinese tax invoice and a letter to Chinese authorities),
so their wording is Chinese whatever the reader's UI language.
"""

import io
import math
from decimal import Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.urls import reverse
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from marketplace.core import calendar
from marketplace.core.money import ZERO, quantize
from marketplace.core.pdf import cjk_font

from .models import ExplanationLetter, InvoiceProfile, InvoiceRequest

PLATFORM_NAME = "云商店平台"
INVOICE_INK = colors.HexColor("#9a5b2c")  # the brown of Chinese invoice forms
SEAL_RED = colors.HexColor("#d0202e")
MARGIN = 16 * mm
WIDTH = A4[0] - 2 * MARGIN


# --- helpers ---------------------------------------------------------------------------------------


def verification_url(letter: ExplanationLetter) -> str:
    """The public page that confirms the letter (what its QR code encodes)."""
    return settings.SITE_URL.rstrip("/") + reverse("verify:letter_verify", args=[letter.verification_code])


def issuer_name(request: InvoiceRequest) -> str:
    if request.issuer == InvoiceRequest.Issuer.PLATFORM or request.seller_id is None:
        return PLATFORM_NAME
    return request.seller.name


def split_tax(amount: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """A tax-included amount as (net, tax): net = amount / (1 + rate) to the cent, tax the rest."""
    amount = quantize(amount)
    net = quantize(amount / (Decimal(1) + Decimal(rate)))
    return net, amount - net


def money(value) -> str:
    return f"{Decimal(value if value is not None else ZERO):,.2f}"


def percent(rate) -> str:
    text = f"{Decimal(rate) * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def rmb_upper(amount) -> str:
    """An amount in Chinese capital numerals, as written on invoices: 1060.05 -> 壹仟零陆拾圆零伍分."""
    amount = quantize(amount)
    if amount < 0:
        return "负" + rmb_upper(-amount)
    cents = int(amount * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    text = ""
    if yuan:
        digits = str(yuan)
        zero = False
        for i, char in enumerate(digits):
            pos = len(digits) - 1 - i
            if char == "0":
                zero = True
            else:
                if zero:
                    text += "零"
                    zero = False
                text += _DIGITS[int(char)] + _UNITS[pos % 4]
            if pos % 4 == 0 and pos and int(digits[max(0, i - 3) : i + 1]):
                text += _GROUPS[pos // 4]
        text += "圆"
    if not jiao and not fen:
        return (text or "零圆") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text


def _cn_date(day) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日" if day else "—"


def _orders(request: InvoiceRequest) -> list[tuple[str, str, Decimal]]:
    """(order number, product names, invoiced amount) of each order on the request."""
    rows = []
    lines = request.lines.select_related("order").prefetch_related("order__lines__product", "order__lines__plan")
    for line in sorted(lines, key=lambda x: x.order.number):
        names = []
        for item in line.order.lines.all():
            product = item.product.name_zh or item.product.name_en
            plan = item.plan.name_zh or item.plan.name_en
            names.append(f"{product}（{plan}）" if plan else product)
        rows.append((line.order.number, "、".join(names) or "—", line.amount))
    return rows


def _styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=20, leading=26, alignment=TA_CENTER),
        "body": ParagraphStyle("body", fontName=font, fontSize=9.5, leading=14),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=13),
        "right": ParagraphStyle("right", fontName=font, fontSize=9, leading=13, alignment=TA_RIGHT),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.grey),
        "label": ParagraphStyle(
            "label", fontName=font, fontSize=9, leading=12, alignment=TA_CENTER, textColor=INVOICE_INK
        ),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text)), style)


# --- the invoice -----------------------------------------------------------------------------------


def invoice_pdf(request: InvoiceRequest) -> bytes:
    """The invoice as the platform draws it for an issuer who did not upload one."""
    font = cjk_font()
    st = _styles(font)
    special = request.vat_kind == InvoiceProfile.VatKind.SPECIAL
    kind = "增值税专用发票" if special else "增值税普通发票"
    amount = request.invoice_amount if request.invoice_amount is not None else request.amount
    rate = request.tax_rate if request.tax_rate is not None else Decimal("0.06")
    net, tax = split_tax(amount, rate)
    seller = request.seller if request.seller_id else None

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"电子发票 {request.invoice_number}",
        author=issuer_name(request),
        subject=kind,
        creator=PLATFORM_NAME,
    )
    ink = ParagraphStyle("ink", parent=st["cell"], textColor=INVOICE_INK)
    heading = ParagraphStyle(
        "heading", parent=st["title"], fontSize=15, leading=20, textColor=INVOICE_INK, spaceAfter=0
    )
    meta = [
        f"发票号码：{escape(request.invoice_number)}",
        *([f"发票代码：{escape(request.invoice_code)}"] if request.invoice_code else []),
        f"开票日期：{_cn_date(request.issued_on)}",
    ]
    header = Table(
        [
            [
                Paragraph(PLATFORM_NAME, st["small"]),
                Paragraph(f"电子发票（{kind}）", heading),
                Paragraph("<br/>".join(meta), ink),
            ]
        ],
        colWidths=[42 * mm, 76 * mm, 60 * mm],
    )
    header.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LINEBELOW", (1, 0), (1, 0), 0.8, INVOICE_INK),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )

    buyer_lines = [
        f"名称：{escape(request.title)}",
        f"统一社会信用代码/纳税人识别号：<br/>{escape(request.tax_id or '—')}",
    ]
    if special:
        details = request.title_details or {}
        buyer_lines += [
            f"地址、电话：{escape(details.get('address', ''))} {escape(details.get('phone', ''))}",
            f"开户行及账号：{escape(details.get('bank_name', ''))} {escape(details.get('bank_account', ''))}",
        ]
    seller_lines = [f"名称：{escape(issuer_name(request))}"]
    if seller:
        seller_lines.append(f"统一社会信用代码/纳税人识别号：<br/>{escape(seller.credit_code)}")
    if seller and special:
        seller_lines.append(f"地址、电话：{escape(seller.address)} {escape(seller.contact_phone)}")
    parties = Table(
        [
            [
                Paragraph("购<br/>买<br/>方<br/>信<br/>息", st["label"]),
                Paragraph("<br/>".join(buyer_lines), st["cell"]),
                Paragraph("销<br/>售<br/>方<br/>信<br/>息", st["label"]),
                Paragraph("<br/>".join(seller_lines), st["cell"]),
            ]
        ],
        colWidths=[9 * mm, 80 * mm, 9 * mm, 80 * mm],
    )
    parties.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, INVOICE_INK),
                ("LINEAFTER", (0, 0), (2, 0), 0.5, INVOICE_INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )

    rows = [[_p(h, st["label"]) for h in ("序号", "订单号", "项目名称", "金额（含税）")]]
    for n, (number, names, line_amount) in enumerate(_orders(request), start=1):
        rows.append([str(n), number, _p(names, st["cell"]), money(line_amount)])
    first_total = len(rows)
    rows += [
        [_p("合计金额（不含税）", st["right"]), "", "", f"¥{money(net)}"],
        [_p("税率", st["right"]), "", "", percent(rate)],
        [_p("税额", st["right"]), "", "", f"¥{money(tax)}"],
    ]
    items = Table(rows, colWidths=[12 * mm, 44 * mm, 82 * mm, 40 * mm], repeatRows=1)
    items.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BOX", (0, 0), (-1, -1), 0.8, INVOICE_INK),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, INVOICE_INK),
                ("LINEABOVE", (0, first_total), (-1, first_total), 0.5, INVOICE_INK),
                ("ALIGN", (0, 1), (0, -1), "CENTER"),
                ("ALIGN", (3, 1), (3, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                *[("SPAN", (0, r), (2, r)) for r in range(first_total, len(rows))],
            ]
        )
    )

    total = Table(
        [
            [
                _p("价税合计（大写）", st["label"]),
                _p(f"⊗ {rmb_upper(amount)}", st["cell"]),
                Paragraph(f"（小写）<b>¥{money(amount)}</b>", st["right"]),
            ]
        ],
        colWidths=[34 * mm, 94 * mm, 50 * mm],
    )
    total.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, INVOICE_INK),
                ("LINEAFTER", (0, 0), (0, 0), 0.5, INVOICE_INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )

    remarks = [f"发票申请号：{escape(request.number)}"]
    if request.issuer == InvoiceRequest.Issuer.SELLER:
        remarks.append(f"本发票由{escape(issuer_name(request))}通过{PLATFORM_NAME}开具。")
    remarks.append(f"本发票文件由{PLATFORM_NAME}根据开票方录入的发票信息生成。")
    notes = Table(
        [[Paragraph("备<br/>注", st["label"]), Paragraph("<br/>".join(remarks), st["cell"])]],
        colWidths=[9 * mm, 169 * mm],
    )
    notes.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, INVOICE_INK),
                ("LINEAFTER", (0, 0), (0, 0), 0.5, INVOICE_INK),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )

    story = [
        header,
        Spacer(1, 5 * mm),
        parties,
        items,
        total,
        notes,
        Spacer(1, 3 * mm),
        Paragraph(f"开票方：{escape(issuer_name(request))}　　　　本文件由{PLATFORM_NAME}生成", st["small"]),
    ]
    doc.build(story)
    return buffer.getvalue()


# --- the explanation letter ------------------------------------------------------------------------


def _star(canvas, cx: float, cy: float, radius: float) -> None:
    path = canvas.beginPath()
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.382
        angle = math.radians(90 + k * 36)
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        path.moveTo(x, y) if k == 0 else path.lineTo(x, y)
    path.close()
    canvas.drawPath(path, stroke=0, fill=1)


def draw_seal(canvas, cx: float, cy: float, radius: float, font: str, name: str = PLATFORM_NAME) -> None:
    """The platform's round red seal: a ring, the name along the upper arc, a star, and the
    seal's purpose beneath it."""
    canvas.saveState()
    canvas.setStrokeColor(SEAL_RED)
    canvas.setFillColor(SEAL_RED)
    canvas.setStrokeAlpha(0.85)
    canvas.setFillAlpha(0.85)
    canvas.setLineWidth(radius * 0.05)
    canvas.circle(cx, cy, radius, stroke=1, fill=0)
    _star(canvas, cx, cy, radius * 0.32)
    size = radius * 0.3
    canvas.setFont(font, size)
    canvas.setLineWidth(size * 0.04)  # filled and stroked: the seal's characters are bold
    span = 140.0
    step = span / max(len(name) - 1, 1)
    baseline = radius * 0.86 - size
    canvas.translate(cx, cy)
    for i, char in enumerate(name):
        canvas.saveState()
        canvas.rotate(span / 2 - i * step)
        canvas.drawCentredString(0, baseline, char, mode=2)
        canvas.restoreState()
    canvas.setFont(font, radius * 0.17)
    canvas.setLineWidth(radius * 0.17 * 0.03)
    canvas.drawCentredString(0, -radius * 0.6, "业务专用章", mode=2)
    canvas.restoreState()


class _SignedAndSealed(Flowable):
    """The signature at the right of the page — the platform's name and the date — with the seal
    pressed over it."""

    def __init__(self, font: str, day, radius: float = 20 * mm):
        super().__init__()
        self.font, self.day, self.radius = font, day, radius

    def wrap(self, avail_width, avail_height):
        self.width = avail_width
        self.height = 2 * self.radius + 6 * mm
        return self.width, self.height

    def draw(self):
        c = self.canv
        right = self.width - 8 * mm
        middle = self.height / 2
        c.setFont(self.font, 11)
        c.setFillColor(colors.black)
        c.drawRightString(right, middle + 4 * mm, f"{PLATFORM_NAME}（盖章）")
        c.drawRightString(right, middle - 4 * mm, _cn_date(self.day))
        name_width = c.stringWidth(f"{PLATFORM_NAME}（盖章）", self.font, 11)
        draw_seal(c, right - name_width / 2, middle, self.radius, self.font)


def qr_drawing(value: str, size: float = 30 * mm) -> Drawing:
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def letter_pdf(letter: ExplanationLetter) -> bytes:
    """The explanation letter certifying an issued invoice, stamped with the platform's seal."""
    request = letter.request
    font = cjk_font()
    st = _styles(font)
    body = ParagraphStyle("letter", parent=st["body"], fontSize=11, leading=19)
    indented = ParagraphStyle("indented", parent=body, firstLineIndent=22)
    kind = "增值税专用发票" if request.vat_kind == InvoiceProfile.VatKind.SPECIAL else "增值税普通发票"
    amount = request.invoice_amount if request.invoice_amount is not None else request.amount
    stamped = calendar.beijing(letter.stamped_at or letter.created_at).date()
    url = verification_url(letter)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
        title=f"说明函 {letter.verification_code}",
        author=PLATFORM_NAME,
        subject=f"发票 {request.invoice_number}",
        creator=PLATFORM_NAME,
    )
    width = A4[0] - 44 * mm
    who = issuer_name(request)
    by = "由本平台" if request.issuer == InvoiceRequest.Issuer.PLATFORM else f"由{escape(who)}通过本平台"
    story = [
        Paragraph("说明函", ParagraphStyle("t", parent=st["title"], fontSize=22, leading=30)),
        Paragraph(
            f"验证码：{escape(letter.verification_code)}", ParagraphStyle("c", parent=st["small"], alignment=TA_RIGHT)
        ),
        Spacer(1, 4 * mm),
        Paragraph("致相关单位：", body),
        Paragraph(
            f"兹证明，{escape(request.title)}在{PLATFORM_NAME}购买的以下订单，已{by}开具{kind}，发票信息如下：",
            indented,
        ),
        Spacer(1, 3 * mm),
    ]
    facts = [
        ("发票号码", request.invoice_number),
        ("发票代码", request.invoice_code or "—"),
        ("开票日期", _cn_date(request.issued_on)),
        ("价税合计", f"¥{money(amount)}（{rmb_upper(amount)}）"),
        ("购买方名称", request.title),
        ("纳税人识别号", request.tax_id or "—"),
        ("开票方", who),
        ("发票申请号", request.number),
    ]
    kv = Table(
        [[_p(k, st["cell"]), _p(v, st["cell"])] for k, v in facts],
        colWidths=[32 * mm, width - 32 * mm],
    )
    kv.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8bcc4")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f3f5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    rows = [[_p(h, st["cell"]) for h in ("订单号", "商品", "开票金额")]]
    rows += [[number, _p(names, st["cell"]), money(a)] for number, names, a in _orders(request)]
    orders = Table(rows, colWidths=[42 * mm, width - 72 * mm, 30 * mm], repeatRows=1)
    orders.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8bcc4")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f3f5")),
                ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    verify = Table(
        [
            [
                Paragraph(
                    "本说明函可扫描右侧二维码或访问以下网址核验真伪：<br/>"
                    f"<font size=8>{escape(url)}</font><br/>"
                    f"验证码：<b>{escape(letter.verification_code)}</b>",
                    st["body"],
                ),
                qr_drawing(url),
            ]
        ],
        colWidths=[width - 36 * mm, 36 * mm],
    )
    verify.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8bcc4")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
            ]
        )
    )
    story += [
        kv,
        Spacer(1, 4 * mm),
        Paragraph("涉及订单：", body),
        Spacer(1, 1 * mm),
        orders,
        Spacer(1, 4 * mm),
        Paragraph("特此说明。", indented),
        Spacer(1, 6 * mm),
        KeepTogether([_SignedAndSealed(font, stamped), Spacer(1, 6 * mm), verify]),
    ]
    doc.build(story)
    return buffer.getvalue()
