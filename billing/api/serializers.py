from rest_framework import serializers

from ..models import Dispute, ExportJob, LedgerEntry, Statement, StatementEvent


class StatementSerializer(serializers.ModelSerializer):
    period = serializers.DateField(format="%Y-%m")

    class Meta:
        model = Statement
        fields = [
            "id",
            "trade_mode",
            "period",
            "status",
            "currency",
            "line_count",
            "gross",
            "fee",
            "net",
            "extra_share_rate",
            "extra_share",
            "carried_in",
            "net_payable",
            "carried_into",
            "generated_at",
            "sent_at",
            "confirmed_at",
            "invoice_due",
            "paid_at",
            "payout_reference",
        ]


class StatementEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.email", default=None, read_only=True)
    message = serializers.CharField(source="text", read_only=True)

    class Meta:
        model = StatementEvent
        fields = ["from_status", "to_status", "message", "actor", "created_at"]


class DisputeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dispute
        fields = ["id", "reason", "status", "answer", "created_at", "answered_at"]


class StatementDetailSerializer(StatementSerializer):
    events = StatementEventSerializer(many=True, read_only=True)
    disputes = DisputeSerializer(many=True, read_only=True)

    class Meta(StatementSerializer.Meta):
        fields = [*StatementSerializer.Meta.fields, "events", "disputes"]


class LineSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order_line.order.number", default=None)
    product = serializers.CharField(source="order_line.product.name", default=None)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "order_number",
            "order_line",
            "product",
            "gross",
            "fee_rate",
            "fee",
            "net",
            "occurred_at",
            "posted_at",
            "reason",
        ]


class ExportJobSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True)

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "statement",
            "format",
            "status",
            "progress",
            "rows_done",
            "rows_total",
            "created_at",
            "finished_at",
            "expires_at",
        ]


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportJob.Format.choices)


class DisputeRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class InvoiceUploadSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=32)
    issued_on = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    file = serializers.FileField()


class UsageReportSerializer(serializers.Serializer):
    subscription = serializers.IntegerField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=4)
    reference = serializers.CharField(max_length=64)
    consumed_at = serializers.DateTimeField()


class UsageRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subscription = serializers.IntegerField(source="subscription_id")
    quantity = serializers.DecimalField(max_digits=18, decimal_places=4)
    unit_price = serializers.DecimalField(max_digits=18, decimal_places=2)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    consumed_at = serializers.DateTimeField()
    reference = serializers.CharField()
