"""The statement as a PDF (reportlab), in the reader's language, readable in Chinese."""

import io

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from marketplace.core import calendar
from marketplace.core.db_router import reporting_db
from marketplace.core.pdf import cjk_font

from .models import LedgerEntry, Statement

PDF_LINES = 300  # the PDF lists the first lines; the export has them all


def statement_pdf(statement: Statement) -> bytes:
    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.grey)

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("Statement %(period)s") % {"period": statement.period.strftime("%Y-%m")},
    )
    story = [
        Paragraph(_("Settlement statement"), title),
        Paragraph(
            _("%(seller)s · %(mode)s · %(period)s")
            % {
                "seller": statement.seller.name,
                "mode": statement.get_trade_mode_display(),
                "period": statement.period.strftime("%Y-%m"),
            },
            body,
        ),
        Paragraph(
            _("Status: %(status)s · generated %(when)s (Beijing time)")
            % {
                "status": statement.get_status_display(),
                "when": calendar.beijing(statement.generated_at).strftime("%Y-%m-%d %H:%M"),
            },
            small,
        ),
        Spacer(1, 6 * mm),
    ]
    totals = [
        [_("Entries"), str(statement.line_count)],
        [_("Gross"), f"{statement.gross:,.2f}"],
        [_("Fee"), f"{statement.fee:,.2f}"],
        [_("Net"), f"{statement.net:,.2f}"],
        [
            _("Extra share (%(rate)s)") % {"rate": f"{statement.extra_share_rate * 100:.2f}%"},
            f"{statement.extra_share:,.2f}",
        ],
        [_("Carried in"), f"{statement.carried_in:,.2f}"],
        [_("Net payable (CNY)"), f"{statement.net_payable:,.2f}"],
    ]
    table = Table(totals, colWidths=[60 * mm, 50 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEBELOW", (0, -2), (-1, -2), 0.5, colors.black),
                ("FONTSIZE", (0, -1), (-1, -1), 11),
                ("TOPPADDING", (0, -1), (-1, -1), 6),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm)]

    # A generated statement's entries never change: the replica, when there is one, reads them.
    entries = (
        LedgerEntry.objects.using(reporting_db())
        .filter(seller_id=statement.seller_id, trade_mode=statement.trade_mode, period=statement.period)
        .select_related("order_line__order", "order_line__product")
        .order_by("id")[:PDF_LINES]
    )
    rows = [[_("Order"), _("Product"), _("Kind"), _("Occurred"), _("Gross"), _("Fee"), _("Net")]]
    for e in entries:
        line = e.order_line
        rows.append(
            [
                line.order.number if line else "—",
                Paragraph((line.product.name_zh if line else e.reason)[:40], body),
                e.get_kind_display(),
                calendar.beijing(e.occurred_at).strftime("%Y-%m-%d"),
                f"{e.gross:,.2f}",
                f"{e.fee:,.2f}",
                f"{e.net:,.2f}",
            ]
        )
    for carried in statement.carried_from.order_by("period"):
        rows.append(
            [
                "—",
                _("Carried over from %(period)s") % {"period": carried.period.strftime("%Y-%m")},
                "",
                "",
                "",
                "",
                f"{carried.net_payable:,.2f}",
            ]
        )
    lines = Table(rows, repeatRows=1, colWidths=[34 * mm, 48 * mm, 18 * mm, 22 * mm, 18 * mm, 16 * mm, 20 * mm])
    lines.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f3f5")),
                ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story.append(lines)
    if statement.line_count > PDF_LINES:
        story += [
            Spacer(1, 3 * mm),
            Paragraph(
                _("The first %(n)s of %(total)s entries are listed; export the bill details for all of them.")
                % {"n": PDF_LINES, "total": statement.line_count},
                small,
            ),
        ]
    doc.build(story)
    return buffer.getvalue()
