"""The merchant marketing support payment agreement (商家营销支持支付协议) a seller signs to join the
merchant acceleration plan: its text in both languages, and the PDF of a signed copy.

The text is versioned; a signature stores the exact text signed (both languages) and its SHA-256,
so changing this file never changes what an earlier seller agreed to.
"""

import hashlib
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from marketplace.core import calendar
from marketplace.core.pdf import cjk_font

VERSION = "2026-01"
PLATFORM_ZH, PLATFORM_EN = "云商店平台", "the Cloud Marketplace platform"

TITLE_ZH = "商家营销支持支付协议"
TITLE_EN = "Merchant Marketing Support Payment Agreement"

CLAUSES_ZH = [
    "甲方：{platform}（以下简称“平台”）；乙方：{seller}（以下简称“商家”）。",
    "一、商家加入平台“商家加速计划”。商家本自然年度在平台的交易额（GMV，已扣除退款）不低于人民币 {threshold} 元。",
    "二、加入计划后，商家可就其营销活动向平台申请营销支持。每项申请须写明活动名称、活动周期、推广渠道、预算及活动方案，经平台运营经理审核通过后方可执行。",
    "三、活动结束后，商家应提交真实、完整的活动验收材料（活动报告及相关凭证）。平台验收通过后，按审核通过的支持金额向商家支付营销支持费用；实际支付金额不超过审核通过的金额。",
    "四、验收材料不真实或活动未按方案执行的，平台有权退回验收材料、不予支付，已支付的费用商家应予退还。",
    "五、营销支持费用通过平台结算账户支付，平台保留每笔支付的记录，商家可在卖家中心查看。",
    "六、本协议自商家在线签署之日起生效，至本自然年度结束时终止。商家的在线签署（签署人姓名、职务、时间及IP地址）与书面签字具有同等效力。",
]
CLAUSES_EN = [
    "Party A: {platform} (the platform). Party B: {seller} (the merchant).",
    "1. The merchant joins the platform's merchant acceleration plan. Its GMV on the platform this "
    "calendar year, net of refunds, is at least CNY {threshold}.",
    "2. In the plan, the merchant may apply to the platform for marketing support of its marketing "
    "activities. Each application states the activity's name, period, channels, budget and plan, and is "
    "carried out only once the platform's operations manager has approved it.",
    "3. After the activity the merchant submits true and complete acceptance materials (a report on the "
    "activity and its evidence). Once the platform accepts them, it pays the merchant the approved "
    "support; the amount paid never exceeds the amount approved.",
    "4. Where the materials are untrue or the activity was not carried out as planned, the platform may "
    "return the materials and not pay; support already paid is then repaid by the merchant.",
    "5. Support is paid through the platform's settlement account; the platform keeps a record of every "
    "payment, which the merchant sees in the seller center.",
    "6. This agreement takes effect when the merchant signs it online and ends with the calendar year. "
    "The online signature (the signer's name, role, time and IP address) has the force of a written one.",
]


def texts(*, seller_name: str, threshold) -> tuple[str, str]:
    """The agreement's text in Chinese and English for this seller (what is stored and signed)."""
    amount = f"{threshold:,.2f}"
    zh = "\n".join(
        [TITLE_ZH, *(c.format(platform=PLATFORM_ZH, seller=seller_name, threshold=amount) for c in CLAUSES_ZH)]
    )
    en = "\n".join(
        [TITLE_EN, *(c.format(platform=PLATFORM_EN, seller=seller_name, threshold=amount) for c in CLAUSES_EN)]
    )
    return zh, en


def digest(text_zh: str, text_en: str) -> str:
    return hashlib.sha256(f"{VERSION}\n{text_zh}\n{text_en}".encode()).hexdigest()


def pdf(
    *,
    text_zh: str,
    text_en: str,
    text_sha256: str,
    version: str,
    seller_name: str,
    signer_name: str,
    signer_role: str,
    signed_at,
    ip: str | None,
) -> bytes:
    """The signed agreement as a PDF: both texts, then the signature block (who, role, when, where)."""
    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=TA_CENTER)
    subtitle = ParagraphStyle("subtitle", fontName=font, fontSize=11, leading=16, alignment=TA_CENTER)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=16, spaceAfter=4)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.grey)
    cell = ParagraphStyle("cell", fontName=font, fontSize=9.5, leading=14)
    digest_cell = ParagraphStyle("digest", parent=cell, fontName="Courier", fontSize=8)  # 64 characters, one line

    def section(text: str) -> list:
        first, *rest = text.split("\n")
        return [Paragraph(escape(first), title), Spacer(1, 6 * mm), *(Paragraph(escape(line), body) for line in rest)]

    local = calendar.beijing(signed_at)
    signed = local.strftime("%Y-%m-%d %H:%M:%S") + " (UTC+8)"
    rows = [
        ["乙方 / Merchant", seller_name],
        ["签署人 / Signed by", signer_name],
        ["职务 / Role", signer_role],
        ["签署时间 / Signed at", signed],
        ["IP 地址 / IP address", ip or "-"],
        ["协议版本 / Version", version],
        ["文本摘要 / Text SHA-256", text_sha256],
    ]
    table = Table(
        [
            [Paragraph(escape(a), cell), Paragraph(escape(b), digest_cell if b == text_sha256 else cell)]
            for a, b in rows
        ],
        colWidths=[45 * mm, 120 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#c8ced8")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f4f8")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story = [
        *section(text_zh),
        Spacer(1, 8 * mm),
        *section(text_en),
        Spacer(1, 8 * mm),
        KeepTogether(
            [
                Paragraph("签署记录 / Signature record", subtitle),
                Spacer(1, 3 * mm),
                table,
                Spacer(1, 3 * mm),
                Paragraph(
                    escape(
                        "本协议由乙方在线签署，签署记录不可更改。"
                        " Signed online by the merchant; the record cannot be changed."
                    ),
                    small,
                ),
            ]
        ),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{TITLE_ZH} / {TITLE_EN}",
        author=PLATFORM_EN,
    )
    doc.build(story)
    return buffer.getvalue()
