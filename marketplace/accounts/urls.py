from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html", success_url="/accounts/profile/"
        ),
        name="password_change",
    ),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("seller-apply/", views.seller_apply, name="seller_apply"),
    path("seller-apply/documents/<int:pk>/", views.application_document, name="application_document"),
    path("language/", views.set_language, name="set_language"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
]

buyer_urlpatterns = [
    path("workbench/", views.workbench, name="workbench"),
    path("workbench/invite/", views.workbench_invite, name="workbench_invite"),
    path("workbench/members/<int:pk>/", views.workbench_member, name="workbench_member"),
    path("workbench/units/", views.workbench_unit, name="workbench_unit_create"),
    path("workbench/units/<int:pk>/delete/", views.workbench_unit, name="workbench_unit_delete"),
]

seller_urlpatterns = [
    path("team/", views.team, name="team"),
    path("team/<int:pk>/", views.team_member, name="team_member"),
]
