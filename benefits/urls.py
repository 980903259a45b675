from django.urls import path

from . import views

# Mounted under /seller/ (namespace ``seller``) by marketplace.portal.urls.
seller_urlpatterns = [
    path("benefits/", views.seller_benefits, name="benefits"),
    path("benefits/apply/<int:benefit_id>/", views.seller_benefit_apply, name="benefit_apply"),
    path(
        "benefits/applications/<int:pk>/withdraw/", views.seller_benefit_withdraw, name="benefit_application_withdraw"
    ),
    # Cooperation applications: the merchant acceleration plan and merchant marketing support.
    path("cooperation/", views.seller_cooperation, name="cooperation"),
    path("cooperation/acceleration-plan/", views.seller_acceleration_plan, name="acceleration_plan"),
    path(
        "cooperation/acceleration-plan/agreement.pdf",
        views.seller_acceleration_agreement_pdf,
        name="acceleration_agreement_pdf",
    ),
    path("cooperation/marketing-support/", views.seller_marketing_support, name="marketing_support"),
    path("cooperation/marketing-support/new/", views.seller_marketing_support_new, name="marketing_support_new"),
    path(
        "cooperation/marketing-support/<int:pk>/",
        views.seller_marketing_support_detail,
        name="marketing_support_detail",
    ),
    path(
        "cooperation/marketing-support/<int:pk>/edit/",
        views.seller_marketing_support_edit,
        name="marketing_support_edit",
    ),
    path(
        "cooperation/marketing-support/<int:pk>/submit/",
        views.seller_marketing_support_submit,
        name="marketing_support_submit",
    ),
    path(
        "cooperation/marketing-support/<int:pk>/withdraw/",
        views.seller_marketing_support_withdraw,
        name="marketing_support_withdraw",
    ),
    path(
        "cooperation/marketing-support/<int:pk>/acceptance/",
        views.seller_marketing_support_acceptance,
        name="marketing_support_acceptance",
    ),
    path(
        "cooperation/marketing-support/files/<int:pk>/",
        views.seller_marketing_support_file,
        name="marketing_support_file",
    ),
    path(
        "cooperation/marketing-support/files/<int:pk>/remove/",
        views.seller_marketing_support_file_remove,
        name="marketing_support_file_remove",
    ),
]
